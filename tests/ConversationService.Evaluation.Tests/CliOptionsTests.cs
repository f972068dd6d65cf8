namespace ConversationService.Evaluation.Tests;

/// <summary>
/// Alone, after the parallel tests: the runs of the tool capture the process's console, so that the errors it prints
/// on purpose stay off the test log (and can be asserted), without swallowing another test's output.
/// </summary>
[Collection(Name)]
public sealed class CliOptionsTests : IDisposable
{
    public const string Name = "console";

    private static readonly DateTimeOffset Now = new(2026, 11, 30, 5, 6, 7, TimeSpan.Zero);
    private readonly SyntheticLocomo _first = new("conv-1");

    private static (CliOptions? Options, IReadOnlyList<string> Errors, bool Help) Parse(string args, string? envKey = null) =>
        CliOptions.Parse(args.Split(' ', StringSplitOptions.RemoveEmptyEntries), Now, name => name == CliOptions.ApiKeyVariable ? envKey : null);

    [Fact]
    public void Given_only_data_and_a_key_When_parsed_Then_the_documented_defaults_apply()
    {
        var (options, errors, _) = Parse($"--data {_first.Folder} --api-key k");

        Assert.Empty(errors);
        var s = options!.Settings;
        Assert.Equal(new Uri("http://localhost:5080"), options.BaseUrl);
        Assert.Equal([500, 1000, 2000, 4000], s.Budgets);
        Assert.Equal([2000, 4000], s.PrefixBudgets);
        Assert.Equal((4, "gpt-4o", false, "20261130T050607Z"), (s.Concurrency, s.Model, s.Keep, s.RunId));
        Assert.Equal(Path.Combine("artifacts", "eval", "20261130T050607Z"), s.OutputDirectory);
        Assert.Equal([_first.Path], s.Files);
    }

    [Fact]
    public void Given_every_option_When_parsed_Then_each_is_taken()
    {
        var (options, errors, _) = Parse(
            $"--data {_first.Folder} --base-url http://127.0.0.1:5183 --budgets 4000,500,500 --out x/y --conversations conv-1 "
            + "--concurrency 8 --model gpt-4.1 --prefix-conversation conv-1 --prefix-budgets 1000 --index-timeout 30 --keep", envKey: "from-env");

        Assert.Empty(errors);
        var s = options!.Settings;
        Assert.Equal(("from-env", new Uri("http://127.0.0.1:5183")), (options.ApiKey, options.BaseUrl));
        Assert.Equal([500, 4000], s.Budgets);
        Assert.Equal(("x/y", 8, "gpt-4.1", true, "conv-1"), (s.OutputDirectory, s.Concurrency, s.Model, s.Keep, s.PrefixConversation));
        Assert.Equal([1000], s.PrefixBudgets);
        Assert.Equal(TimeSpan.FromSeconds(30), s.IndexTimeout);
    }

    [Theory]
    [InlineData("--api-key k", "--data: required")]
    [InlineData("--data /no/such/folder --api-key k", "--data: folder '/no/such/folder' does not exist.")]
    [InlineData("--data {0}", "--api-key: required")]
    [InlineData("--data {0} --api-key k --budgets 500,x", "--budgets: '500,x' is not")]
    [InlineData("--data {0} --api-key k --budgets 0", "--budgets: '0' is not")]
    [InlineData("--data {0} --api-key k --concurrency 65", "--concurrency: '65' is not")]
    [InlineData("--data {0} --api-key k --model llama", "--model: 'llama' has no tokenizer")]
    [InlineData("--data {0} --api-key k --base-url ftp://x", "--base-url: 'ftp://x' is not")]
    [InlineData("--data {0} --api-key k --conversations conv-1,conv-9", "--conversations: no file conv-9.json")]
    [InlineData("--data {0} --api-key k --prefix-conversation conv-7", "--prefix-conversation: 'conv-7' is not")]
    [InlineData("--data {0} --api-key k --budgets", "--budgets: a value is required.")]
    [InlineData("--data {0} --api-key k --verbose", "--verbose: unknown option")]
    public void Given_a_bad_argument_When_parsed_Then_the_error_names_the_option(string args, string error)
    {
        var (options, errors, help) = Parse(string.Format(System.Globalization.CultureInfo.InvariantCulture, args, _first.Folder));

        Assert.Null(options);
        Assert.False(help);
        Assert.Contains(errors, e => e.StartsWith(error, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Given_bad_arguments_When_the_tool_runs_Then_it_exits_with_2_and_help_exits_with_0()
    {
        var (exit, output) = await RunToolAsync("--data", "/no/such/folder");
        Assert.Equal(2, exit);
        Assert.Contains("error: --data:", output, StringComparison.Ordinal);

        (exit, output) = await RunToolAsync("--help");
        Assert.Equal(0, exit);
        Assert.Contains("Usage:", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Given_a_service_that_does_not_answer_When_the_tool_runs_Then_it_exits_with_1()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var closedPort = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var (exit, output) = await RunToolAsync(
            "--data", _first.Folder, "--api-key", "k", "--base-url", $"http://127.0.0.1:{closedPort}", "--out", Path.Combine(_first.Folder, "out"));

        Assert.Equal(1, exit);
        Assert.Contains("evaluation failed:", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Given_a_JSON_file_that_is_no_LoCoMo_conversation_When_the_tool_runs_Then_it_exits_with_2()
    {
        await File.WriteAllTextAsync(Path.Combine(_first.Folder, "notes.json"), """{"speaker_a": "Ann", "qa": [{"question": "?"}]}""");

        var (exit, output) = await RunToolAsync("--data", _first.Folder, "--api-key", "k", "--conversations", "notes");

        Assert.Equal(2, exit);
        Assert.Contains("is not a LoCoMo conversation file", output, StringComparison.Ordinal);
    }

    public void Dispose() => _first.Dispose();

    private static async Task<(int Exit, string Output)> RunToolAsync(params string[] args)
    {
        var (output, error) = (Console.Out, Console.Error);
        using var captured = new StringWriter();
        Console.SetOut(captured);
        Console.SetError(captured);
        try
        {
            return (await EvaluationCli.Main(args), captured.ToString());
        }
        finally
        {
            Console.SetOut(output);
            Console.SetError(error);
        }
    }
}

[CollectionDefinition(CliOptionsTests.Name, DisableParallelization = true)]
public sealed class ConsoleCollection;
