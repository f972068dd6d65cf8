using ConversationService.Client;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace ConversationService.Tests.Client;

/// <summary>
/// The typed client as an app registers it (AddConversationServiceClient, its retry policy included), sending to the
/// test server's in-process handler; <paramref name="configure"/> adds to the registration (handlers, settings).
/// </summary>
public sealed class ClientHost : IDisposable
{
    private readonly ServiceProvider _services;

    public ClientHost(
        WebApplicationFactory<Program> factory, string apiKey, Action<ConversationServiceClientOptions>? options = null,
        Action<IHttpClientBuilder>? configure = null)
    {
        var services = new ServiceCollection();
        var builder = services.AddConversationServiceClient(o =>
            {
                o.BaseAddress = factory.Server.BaseAddress;
                o.ApiKey = apiKey;
                o.RetryDelay = TimeSpan.FromMilliseconds(10);
                options?.Invoke(o);
            })
            .ConfigurePrimaryHttpMessageHandler(() => factory.Server.CreateHandler());
        configure?.Invoke(builder);
        services.AddLogging();
        _services = services.BuildServiceProvider();
    }

    public IServiceProvider Services => _services;

    public ConversationServiceClient Client => _services.GetRequiredService<ConversationServiceClient>();

    public void Dispose() => _services.Dispose();
}

/// <summary>
/// Loses the answer of the 1st, (1 + every)th, ... request whose path ends with <paramref name="path"/>, after the
/// service handled it: what a dropped connection does.
/// </summary>
public sealed class LoseAnswers(string path, int every) : DelegatingHandler
{
    public int Seen { get; private set; }

    public int Lost { get; private set; }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        if (request.RequestUri!.AbsolutePath.EndsWith(path, StringComparison.Ordinal) && Seen++ % every == 0)
        {
            Lost++;
            response.Dispose();
            throw new HttpRequestException("connection reset after the request was sent");
        }
        return response;
    }
}
