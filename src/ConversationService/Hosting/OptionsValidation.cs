using ConversationService.Messaging;
using Microsoft.Extensions.Options;

namespace ConversationService.Hosting;

/// <summary>
/// The one style of options validation: an options class lists its own problems, each naming the key to set, and the
/// service does not start while there are any.
/// </summary>
public static class OptionsValidation
{
    public static OptionsBuilder<T> AddCheckedOptions<T>(
        this IServiceCollection services, IConfiguration section, Func<T, IEnumerable<string>> problems) where T : class
    {
        services.AddSingleton<IValidateOptions<T>>(new ProblemsValidator<T>(problems));
        return services.AddOptions<T>().Bind(section).ValidateOnStart();
    }
}
