using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace ConversationService.Benchmarks;

/// <summary>
/// Plain-console measurements that scripts/tokenizer/compare-speed.mjs runs next to the npm tokenizers:
/// <c>--compare [locomoDir]</c> prints MB/s of CountTokens over the LoCoMo turns one by one (UTF-8 megabytes,
/// 10^6 bytes, after a warm-up pass) for the project's BPE and ML.Tokenizers' TiktokenTokenizer;
/// <c>--load &lt;encoding&gt; [Exact|ML.Tokenizers]</c> prints the cold load time and memory of one encoding.
/// </summary>
internal static class Compare
{
    public static void Speed(string? locomoDir)
    {
        var turns = LocomoTurns.Load(locomoDir);
        var bytes = turns.Sum(t => (long)Encoding.UTF8.GetByteCount(t));
        foreach (var (name, encoding) in new[] { Tokenizers.Exact, Tokenizers.Ml }.SelectMany(n => new[] { (n, "o200k_base"), (n, "cl100k_base") }))
        {
            var tokenizer = Tokenizers.Create(name, encoding);
            var tokens = CountAll(tokenizer, turns); // warm-up: JIT and word cache, as the npm runs get
            var passes = 0;
            var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            using var process = Process.GetCurrentProcess();
            var cpuBefore = process.TotalProcessorTime;
            var watch = Stopwatch.StartNew();
            while (watch.Elapsed < TimeSpan.FromSeconds(3))
            {
                CountAll(tokenizer, turns);
                passes++;
            }

            watch.Stop();
            process.Refresh();
            var cpuSeconds = (process.TotalProcessorTime - cpuBefore).TotalSeconds;
            var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            var megabytes = bytes * passes / 1e6;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name + " CountTokens",-31} {encoding,-12} {megabytes / watch.Elapsed.TotalSeconds,7:F1} MB/s wall {megabytes / cpuSeconds,7:F1} MB/s CPU  ({tokens} tokens, {passes} passes, {allocated / (double)passes / turns.Length:F1} B allocated per call)"));
        }
    }

    public static void Load(string encoding, string name)
    {
        using var process = Process.GetCurrentProcess();
        var memoryBefore = GC.GetTotalMemory(forceFullCollection: true);
        var workingSetBefore = process.WorkingSet64;
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var watch = Stopwatch.StartNew();
        var tokenizer = Tokenizers.Create(name, encoding);
        var first = tokenizer.CountTokens("warm");
        watch.Stop();
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        var retained = GC.GetTotalMemory(forceFullCollection: true) - memoryBefore;
        process.Refresh();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"load {name,-13} {encoding,-12} {watch.Elapsed.TotalMilliseconds,6:F1} ms (first call, cold process), allocated {allocated / 1048576.0:F1} MiB, retained {retained / 1048576.0:F1} MiB, working set +{(process.WorkingSet64 - workingSetBefore) / 1048576.0:F1} MiB (whole process {process.WorkingSet64 / 1048576.0:F1} MiB, peak {process.PeakWorkingSet64 / 1048576.0:F1} MiB) ({first} token)"));
    }

    private static int CountAll(Tokenizer tokenizer, string[] turns)
    {
        var total = 0;
        foreach (var turn in turns)
        {
            total += tokenizer.CountTokens(turn);
        }

        return total;
    }
}
