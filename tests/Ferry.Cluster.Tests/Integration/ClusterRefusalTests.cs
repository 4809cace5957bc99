using System.Diagnostics;
using Ferry.Tests;

namespace Ferry.Cluster.Tests.Integration;

/// <summary>Settings that would split a cluster or mix two clusters' data are refused at start, in one line.</summary>
public sealed class ClusterRefusalTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "ferry-refusal-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_data)) Directory.Delete(_data, recursive: true);
    }

    private static async Task<(int ExitCode, string Output)> ServeAsync(string data, string? secret, params string[] cluster)
    {
        var info = FerryProcess.StartInfo(["serve", "--data", data, "--kafka", $"127.0.0.1:{FerryProcess.FreePort()}",
            "--amqp", $"127.0.0.1:{FerryProcess.FreePort()}", "--http", $"127.0.0.1:{FerryProcess.FreePort()}", .. cluster]);
        if (secret is not null) info.Environment["FERRY_CLUSTER__SECRET"] = secret;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(deadline.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    [Fact]
    public async Task ADataDirectoryCreatedWithAnotherVoterListIsRefused()
    {
        int port = FerryProcess.FreePort();
        // A one-voter cluster writes its identity, then is killed.
        var started = await ServeAsyncUntilIdentity(port);
        Assert.True(started, "the first start never wrote its cluster identity");

        var (exitCode, output) = await ServeAsync(_data, "s", "--node-id", "1", "--voters", $"1@127.0.0.1:{port},2@127.0.0.1:{FerryProcess.FreePort()}");
        Assert.Equal(2, exitCode);
        Assert.Contains("voter list", output, StringComparison.Ordinal);

        (exitCode, output) = await ServeAsync(_data, "s", "--node-id", "2", "--voters", $"1@127.0.0.1:{port},2@127.0.0.1:{FerryProcess.FreePort()}");
        Assert.Equal(2, exitCode);
    }

    /// <summary>Starts the one-voter node until its identity file exists, then kills it.</summary>
    private async Task<bool> ServeAsyncUntilIdentity(int port)
    {
        var info = FerryProcess.StartInfo("serve", "--data", _data, "--kafka", $"127.0.0.1:{FerryProcess.FreePort()}",
            "--amqp", $"127.0.0.1:{FerryProcess.FreePort()}", "--http", $"127.0.0.1:{FerryProcess.FreePort()}", "--node-id", "1", "--voters", $"1@127.0.0.1:{port}");
        info.Environment["FERRY_CLUSTER__SECRET"] = "s";
        using var process = Process.Start(info)!;
        string identity = Path.Combine(_data, "cluster", "identity");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline && !File.Exists(identity)) await Task.Delay(100);
        process.Kill();
        await process.WaitForExitAsync();
        return File.Exists(identity);
    }

    [Fact]
    public async Task ANodeOutsideTheVotersIsRefused()
    {
        var (exitCode, output) = await ServeAsync(_data, "s", "--node-id", "4", "--voters", $"1@127.0.0.1:{FerryProcess.FreePort()}");
        Assert.Equal(2, exitCode);
        Assert.Contains("not in the voter list", output, StringComparison.Ordinal);
    }
    [Fact]
    public async Task ACluster_WithNodeIdAndVotersAlone_Starts_AndWarnsThatItHasNoSecret()
    {
        // The command-line contract names --node-id and --voters only: a node started so must serve, not refuse.
        int http = FerryProcess.FreePort();
        var info = FerryProcess.StartInfo("serve", "--data", _data, "--kafka", $"127.0.0.1:{FerryProcess.FreePort()}",
            "--amqp", $"127.0.0.1:{FerryProcess.FreePort()}", "--http", $"127.0.0.1:{http}", "--node-id", "1",
            "--voters", $"1@127.0.0.1:{FerryProcess.FreePort()}");
        info.Environment.Remove("FERRY_CLUSTER__SECRET");
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        string? cluster = null;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline && !process.HasExited)
        {
            try
            {
                using var response = await client.GetAsync($"http://127.0.0.1:{http}/api/cluster");
                if (response.IsSuccessStatusCode)
                {
                    cluster = await response.Content.ReadAsStringAsync();
                    if (cluster.Contains("\"controllerId\":1", StringComparison.Ordinal)) break;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            await Task.Delay(100);
        }
        if (!process.HasExited) process.Kill();
        await process.WaitForExitAsync();
        await stdout;
        Assert.NotNull(cluster);
        Assert.Contains("\"mode\":\"raft\"", cluster, StringComparison.Ordinal);
        Assert.Contains("\"controllerId\":1", cluster, StringComparison.Ordinal);
        Assert.Contains("no Cluster:Secret", await stderr, StringComparison.Ordinal);
    }
}
