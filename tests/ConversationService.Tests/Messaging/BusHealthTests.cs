using System.Net;
using ConversationService.Tests.Infrastructure;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ConversationService.Tests.Messaging;

[Collection(MessagingCollection.Name)]
public sealed class BusHealthTests(MessagingFixture fixture)
{
    [Fact]
    public async Task Given_the_bus_connected_When_ready_is_probed_Then_the_masstransit_check_is_healthy()
    {
        using var anonymous = new ApiClient(fixture.Factory.CreateClient());
        var deadline = DateTime.UtcNow.AddSeconds(20);
        Reply reply;
        do
        {
            reply = await anonymous.GetAsync("/health/ready");
        }
        while (reply.Body["checks"]!["masstransit"]!["status"]!.GetValue<string>() != "Healthy"
            && DateTime.UtcNow < deadline && await Delay());

        reply.Expect(HttpStatusCode.OK);
        Assert.Equal("Healthy", reply.Body["checks"]!["masstransit"]!["status"]!.GetValue<string>());
    }

    [Fact]
    public void Given_the_bus_When_configured_Then_it_sends_no_usage_telemetry_to_third_parties()
    {
        var options = fixture.Factory.Services.GetRequiredService<IOptions<UsageTelemetryOptions>>().Value;

        Assert.False(options.Enabled);
    }

    private static async Task<bool> Delay()
    {
        await Task.Delay(200);
        return true;
    }
}
