using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace ConversationService.Tests.Messaging;

/// <summary>
/// A RabbitMQ node of the test's own (Debian's rabbitmq-server, as scripts/deps.sh installs it) on spare ports with
/// its data in a temporary folder, so a test can really stop and start a broker without pulling the machine's
/// shared broker from under other tests. Needs root, like the rest of the test set-up.
/// </summary>
public sealed class RabbitMqNode : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly string _directory;
    private readonly string _node;
    private readonly int _port;
    private readonly int _distributionPort;

    private RabbitMqNode()
    {
        var name = $"cs-test-{Guid.NewGuid():N}"[..20];
        _node = name + "@localhost";
        _port = SparePort();
        _distributionPort = SparePort();
        _directory = Path.Combine(Path.GetTempPath(), name);
        Directory.CreateDirectory(_directory);
    }

    public string Uri => $"amqp://guest:guest@localhost:{_port}/";

    public static async Task<RabbitMqNode> StartNewAsync()
    {
        var node = new RabbitMqNode();
        // The server drops to the rabbitmq user, which must own the node's folder.
        await node.RunAsync("chown", ["rabbitmq:rabbitmq", node._directory]);
        await node.StartAsync();
        return node;
    }

    public async Task StartAsync()
    {
        await RunAsync("rabbitmq-server", ["-detached"]);
        // The node registers with epmd a moment after -detached returns; until then await_startup fails at once.
        var deadline = DateTime.UtcNow + StartTimeout;
        while (await RunAsync("rabbitmqctl", ["-n", _node, "-q", "await_startup", "--timeout", "30"], check: false) != 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"RabbitMQ node {_node} did not start; logs in {_directory}/log.");
            }
            await Task.Delay(250);
        }
    }

    /// <summary>Stops the whole node: every connection drops and the port closes until <see cref="StartAsync"/>.</summary>
    public async Task StopAsync() => await RunAsync("rabbitmqctl", ["-n", _node, "-q", "stop"]);

    public async ValueTask DisposeAsync()
    {
        await RunAsync("rabbitmqctl", ["-n", _node, "-q", "stop"], check: false);
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still being released by the stopping node; the folder is under /tmp.
        }
    }

    private async Task<int> RunAsync(string command, IReadOnlyList<string> arguments, bool check = true)
    {
        var start = new ProcessStartInfo(command)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _directory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["RABBITMQ_NODENAME"] = _node;
        start.Environment["RABBITMQ_NODE_PORT"] = _port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["RABBITMQ_DIST_PORT"] = _distributionPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["RABBITMQ_MNESIA_BASE"] = Path.Combine(_directory, "mnesia");
        start.Environment["RABBITMQ_LOG_BASE"] = Path.Combine(_directory, "log");
        start.Environment["RABBITMQ_PID_FILE"] = Path.Combine(_directory, "pid");
        start.Environment["RABBITMQ_ENABLED_PLUGINS_FILE"] = Path.Combine(_directory, "enabled_plugins");
        start.Environment["RABBITMQ_CONFIG_FILE"] = Path.Combine(_directory, "rabbitmq");
        using var process = Process.Start(start)
            ?? throw new InvalidOperationException($"Could not run {command}; is rabbitmq-server installed (scripts/deps.sh)?");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (check && process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{command} {string.Join(' ', arguments)} exited {process.ExitCode}: {await output}{await error}");
        }
        return process.ExitCode;
    }

    private static int SparePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
