using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using RabbitMQ.Client;

namespace Ferry.Tests;

/// <summary>
/// <c>ferry serve</c> as an operator meets it: every setting it cannot use, from a flag, a <c>FERRY_</c> variable or
/// the config file, is one line on stderr naming the setting and exit 2; a port in use names its listener; a clean
/// stop logs no error.
/// </summary>
public sealed class ServeSettingsTests
{
    private static string NewDataDirectory() => Path.Combine(Path.GetTempPath(), "ferry-cli-" + Guid.NewGuid().ToString("N"));

    /// <summary><c>serve</c> on free ports, with <paramref name="extra"/> flags (a listener flag among them replaces its free port).</summary>
    private static string[] ServeArgs(string data, params string[] extra)
    {
        var args = new List<string> { "serve", "--data", data };
        foreach (var listener in new[] { "--kafka", "--amqp", "--http" })
        {
            if (!extra.Contains(listener)) args.AddRange([listener, $"127.0.0.1:{FerryProcess.FreePort()}"]);
        }
        return [.. args, .. extra];
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> ServeAsync(Dictionary<string, string> environment, params string[] args)
    {
        var info = FerryProcess.StartInfo(args);
        foreach (var (key, value) in environment) info.Environment[key] = value;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("ferry serve kept running with a setting it should refuse: " + await stdout);
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    [Theory]
    [InlineData("flag", "--log-level", "loud", "Logging:LogLevel:Default is 'loud', not a log level")]
    [InlineData("env", "FERRY_STORAGE__SEGMENTBYTES", "abc", "Storage:SegmentBytes is 'abc', not a whole number")]
    [InlineData("env", "FERRY_STORAGE__FSYNC", "maybe", "Storage:Fsync is 'maybe', not true or false")]
    [InlineData("env", "FERRY_KAFKA__DEFAULTPARTITIONS", "many", "Kafka:DefaultPartitions is 'many', not a whole number")]
    [InlineData("env", "FERRY_AMQP__HEARTBEAT", "-5", "Amqp:Heartbeat is '-5', not a whole number from 0 to 65535")]
    [InlineData("env", "FERRY_RESOURCES__MEMORYHIGHWATERMARK", "high", "Resources:MemoryHighWatermark is 'high', not a number")]
    [InlineData("env", "FERRY_LOGGING__LOGLEVEL__DEFAULT", "chatty", "Logging:LOGLEVEL:DEFAULT is 'chatty', not a log level")]
    [InlineData("file", """{ "Storage": { "SegmentBytes": "abc" } }""", "", "Storage:SegmentBytes is 'abc', not a whole number")]
    [InlineData("file", """{ "Groups": { "MinSessionTimeoutMs": -1 } }""", "", "Groups:MinSessionTimeoutMs must be between 1 and")]
    [InlineData("file", """{ "Kafka": { "DefaultPartitions": 0 } }""", "", "Kafka:DefaultPartitions must be between 1 and")]
    [InlineData("file", """{ "Logging": { "LogLevel": { "Ferry": "shout" } } }""", "", "Logging:LogLevel:Ferry is 'shout', not a log level")]
    [InlineData("file", """{ "Storage": """, "", "Failed to load configuration from file")]
    [InlineData("file", """{ "Users": [ { "Name": "__ferry_peer", "Password": "p" } ] }""", "", "User names starting with '__' are reserved")]
    public async Task Serve_WithASettingItCannotUse_PrintsOneLineNamingIt_AndExitsTwo(string source, string key, string value, string expected)
    {
        var data = NewDataDirectory();
        var environment = new Dictionary<string, string>();
        string[] args;
        switch (source)
        {
            case "flag":
                args = ServeArgs(data, key, value);
                break;
            case "env":
                environment[key] = value;
                args = ServeArgs(data);
                break;
            default:
                var config = Path.Combine(Path.GetTempPath(), $"ferry-{Guid.NewGuid():N}.json");
                await File.WriteAllTextAsync(config, key, TestContext.Current.CancellationToken);
                args = ServeArgs(data, "--config", config);
                break;
        }

        var (code, stdout, stderr) = await ServeAsync(environment, args);

        Assert.Equal(2, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("ferry: invalid configuration: ", line);
        Assert.Contains(expected, line);
        Assert.DoesNotContain("System.", line);
        Assert.DoesNotContain("Options.", line);
        Assert.DoesNotContain("   at ", stdout + stderr);
    }

    [Fact]
    public async Task Serve_WithAConfigFileThatDoesNotExist_SaysSoAndExitsTwo()
    {
        var (code, _, stderr) = await ServeAsync([], ServeArgs(NewDataDirectory(), "--config", "/nonexistent/ferry.json"));
        Assert.Equal(2, code);
        Assert.Equal("ferry: invalid configuration: --config: the file '/nonexistent/ferry.json' does not exist.", stderr.Trim());
    }

    [Theory]
    [InlineData("--kafka", "Kafka")]
    [InlineData("--amqp", "AMQP")]
    [InlineData("--http", "HTTP")]
    public async Task Serve_OnAPortInUse_NamesTheListener_InOneLine(string flag, string listener)
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        string address = $"127.0.0.1:{((IPEndPoint)taken.LocalEndpoint).Port}";

        var (code, stdout, stderr) = await ServeAsync([], ServeArgs(NewDataDirectory(), flag, address));

        Assert.Equal(1, code);
        Assert.Equal($"ferry: cannot start: {listener} listener {address}: address in use", stderr.Trim());
        Assert.DoesNotContain("http://" + address, stdout + stderr);
        Assert.DoesNotContain("   at ", stdout + stderr);
    }

    [Fact]
    public async Task CleanShutdown_WithDurableQueues_LogsNoError()
    {
        var data = NewDataDirectory();
        await using var ferry = await FerryProcess.StartAsync(data);
        var factory = new ConnectionFactory { HostName = "127.0.0.1", Port = ferry.AmqpPort };
        await using (var connection = await factory.CreateConnectionAsync(TestContext.Current.CancellationToken))
        await using (var channel = await connection.CreateChannelAsync(cancellationToken: TestContext.Current.CancellationToken))
        {
            await channel.QueueDeclareAsync("jobs", durable: true, exclusive: false, autoDelete: false, cancellationToken: TestContext.Current.CancellationToken);
            await channel.QueueDeclareAsync("mail", durable: true, exclusive: false, autoDelete: false, cancellationToken: TestContext.Current.CancellationToken);
            await channel.BasicPublishAsync("", "jobs", mandatory: false, new BasicProperties { Persistent = true }, "work"u8.ToArray(),
                TestContext.Current.CancellationToken);
        }

        ferry.Signal("TERM");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await ferry.Process.WaitForExitAsync(timeout.Token);

        Assert.Equal(0, ferry.Process.ExitCode);
        await Task.Delay(200, TestContext.Current.CancellationToken); // the last output lines are read asynchronously
        Assert.Contains("shutting down", ferry.Output);
        Assert.DoesNotContain("fail:", ferry.Output);
        Assert.DoesNotContain("Exception", ferry.Output);
    }
}
