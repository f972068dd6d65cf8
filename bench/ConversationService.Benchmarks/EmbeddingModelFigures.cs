extern alias service;

using System.Diagnostics;
using service::ConversationService.Embeddings;

namespace ConversationService.Benchmarks;

/// <summary>
/// <c>--embedding-model</c>: what the local model costs a process, for the README. Load time and resident memory before
/// and after loading it and embedding a first batch; then CPU time to embed every LoCoMo turn as the projection does
/// (batches of <c>Embeddings:BatchSize</c>, 128), per turn and per CPU-second.
/// </summary>
internal static class EmbeddingModelFigures
{
    public static void Print()
    {
        var turns = LocomoTurns.Load();
        var before = ResidentMegabytes();
        var clock = Stopwatch.StartNew();
        var model = ArcticModel.LoadPackaged();
        var loaded = clock.Elapsed;
        using var generator = new ArcticEmbeddingGenerator(model, concurrency: 1);
        generator.GenerateAsync(turns[..32]).GetAwaiter().GetResult();
        GC.Collect();
        var after = ResidentMegabytes();
        Console.WriteLine($"load {loaded.TotalMilliseconds:F0} ms; resident {before:F0} MB before, {after:F0} MB after load and a first batch (+{after - before:F0} MB)");

        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        clock.Restart();
        foreach (var batch in turns.Chunk(128))
        {
            generator.GenerateAsync(batch).GetAwaiter().GetResult();
        }
        var used = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        Console.WriteLine($"{turns.Length} turns: {used.TotalSeconds:F1} CPU-s ({clock.Elapsed.TotalSeconds:F1} s wall), "
            + $"{used.TotalMilliseconds / turns.Length:F1} CPU-ms per turn, {turns.Length / used.TotalSeconds:F0} turns per CPU-second; "
            + $"peak resident {PeakMegabytes():F0} MB");
    }

    private static double ResidentMegabytes() => Status("VmRSS:");

    private static double PeakMegabytes() => Status("VmHWM:");

    private static double Status(string field) =>
        double.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith(field, StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024;
}
