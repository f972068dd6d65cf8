using Spectre.Console;

namespace ConversationService.Evaluation;

/// <summary>Where the runner reports its stages: progress bars on a terminal, plain lines otherwise.</summary>
public interface IRunProgress
{
    IProgressStage Stage(string name, int total);

    void Note(string message);
}

public interface IProgressStage
{
    void Advance(int by = 1);
}

public sealed class SpectreProgress(ProgressContext context) : IRunProgress
{
    public IProgressStage Stage(string name, int total) => new Bar(context.AddTask(Markup.Escape(name), maxValue: Math.Max(total, 1)));

    public void Note(string message) => AnsiConsole.MarkupLine(Markup.Escape(message));

    private sealed class Bar(ProgressTask task) : IProgressStage
    {
        public void Advance(int by = 1) => task.Increment(by);
    }
}

/// <summary>For redirected output (CI logs, tests): one line per stage every tenth of the way.</summary>
public sealed class PlainProgress(TextWriter output) : IRunProgress
{
    private readonly Lock _lock = new();

    public IProgressStage Stage(string name, int total)
    {
        Note($"{name}: 0/{total}");
        return new Lines(this, name, total);
    }

    public void Note(string message)
    {
        lock (_lock)
        {
            output.WriteLine(message);
        }
    }

    private sealed class Lines(PlainProgress owner, string name, int total) : IProgressStage
    {
        private int _done;

        public void Advance(int by = 1)
        {
            var before = Interlocked.Add(ref _done, by) - by;
            var after = before + by;
            if (total > 0 && after * 10 / total != before * 10 / total)
            {
                owner.Note($"{name}: {after}/{total}");
            }
        }
    }
}
