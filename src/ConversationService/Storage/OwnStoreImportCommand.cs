using JasperFx.CommandLine;

namespace ConversationService.Storage;

/// <summary>
/// <c>own-store-import</c>: the import a start does (<see cref="OwnStoreImport"/>), as a command, for operators who
/// want it done (and timed) before the service is rolled out. Safe to run while replicas start: they wait for it.
/// </summary>
[Description("Imports the event log of the service's own earlier event store into Marten (once; a start does it too)", Name = "own-store-import")]
public sealed class OwnStoreImportCommand : JasperFxAsyncCommand<NetCoreInput>
{
    public override async Task<bool> Execute(NetCoreInput input)
    {
        using var host = input.BuildHost();
        var imported = await host.Services.GetRequiredService<OwnStoreImport>().ImportIfNeededAsync(CancellationToken.None);
        Console.WriteLine(imported is null
            ? "Nothing to import: there is no own event store in the schema, or it was imported already."
            : $"Imported {imported.Events} events of {imported.Streams} streams and {imported.Tenants} tenants in {imported.Seconds:0.0} s.");
        return true;
    }
}
