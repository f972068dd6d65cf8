using Microsoft.Extensions.Options;

namespace ConversationService.Hosting;

/// <summary>
/// The one style of options validation: an options class lists its own problems, each naming the key to set, and the
/// service does not start while there are any.
/// </summary>
public static class OptionsValidation
{
    public static OptionsBuilder<T> AddCheckedOptions<T>(
        this IServiceCollection services, IConfiguration section, Func<T, IEnumerable<string>> problems) where T : class =>
        services.AddCheckedOptions<T>(section, (_, options) => problems(options));

    /// <summary>
    /// For problems that depend on other settings: they are read from the container, with the values the service runs
    /// with (every configuration source, also those a host adds after the features registered).
    /// </summary>
    public static OptionsBuilder<T> AddCheckedOptions<T>(
        this IServiceCollection services, IConfiguration section, Func<IServiceProvider, T, IEnumerable<string>> problems)
        where T : class
    {
        services.AddSingleton<IValidateOptions<T>>(provider => new ProblemsValidator<T>(options => problems(provider, options)));
        return services.AddOptions<T>().Bind(section).ValidateOnStart();
    }

    private sealed class ProblemsValidator<T>(Func<T, IEnumerable<string>> problems) : IValidateOptions<T>
        where T : class
    {
        public ValidateOptionsResult Validate(string? name, T options)
        {
            var found = problems(options).ToList();
            return found.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(found);
        }
    }
}
