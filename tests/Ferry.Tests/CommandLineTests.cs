using System.Diagnostics;
using System.Text.Json;

namespace Ferry.Tests;

public sealed class CommandLineTests
{
    [Fact]
    public async Task Help_ListsServeAndItsFlags()
    {
        var (code, output) = await FerryProcess.RunToEndAsync("--help");
        Assert.Equal(0, code);
        Assert.Contains("serve", output);

        (code, output) = await FerryProcess.RunToEndAsync("serve", "--help");
        Assert.Equal(0, code);
        foreach (var flag in new[] { "--data", "--kafka", "--amqp", "--http", "--config" }) Assert.Contains(flag, output);
    }

    [Fact]
    public async Task Version_PrintsTheVersion()
    {
        var (code, output) = await FerryProcess.RunToEndAsync("--version");
        Assert.Equal(0, code);
        Assert.Matches(@"^\d+\.\d+\.\d+", output.Trim());
    }

    [Fact]
    public async Task UnknownFlag_FailsWithNonZeroExit()
    {
        var (code, output) = await FerryProcess.RunToEndAsync("serve", "--no-such-flag");
        Assert.NotEqual(0, code);
        Assert.Contains("--no-such-flag", output);
    }

    [Theory]
    [InlineData("--kafka", "nonsense", "Listeners:Kafka")]
    [InlineData("--http", "127.0.0.1:99999", "Listeners:Http")]
    public async Task Serve_WithAnInvalidSetting_SaysWhichInOneLineAndExitsTwo(string flag, string value, string named)
    {
        var data = Path.Combine(Path.GetTempPath(), "ferry-cli-" + Guid.NewGuid().ToString("N"));
        var (code, stdout, stderr) = await FerryProcess.RunAsync(null, "serve", "--data", data, flag, value);

        Assert.Equal(2, code);
        Assert.Contains(named, stderr);
        Assert.DoesNotContain("   at ", stderr + stdout);
    }

    [Fact]
    public async Task Serve_WithASettingOutOfRange_SaysWhichAndExitsTwo()
    {
        var data = Path.Combine(Path.GetTempPath(), "ferry-cli-" + Guid.NewGuid().ToString("N"));
        var info = FerryProcess.StartInfo("serve", "--data", data, "--kafka", $"127.0.0.1:{FerryProcess.FreePort()}",
            "--amqp", $"127.0.0.1:{FerryProcess.FreePort()}", "--http", $"127.0.0.1:{FerryProcess.FreePort()}");
        info.Environment["FERRY_STORAGE__SEGMENTBYTES"] = "5";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        string stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.Equal(2, process.ExitCode);
        Assert.Contains("SegmentBytes", stderr);
        Assert.DoesNotContain("   at ", stderr + await stdout);
    }

    [Fact]
    public async Task Serve_OnADataDirectoryInUse_SaysSoAndExitsOne()
    {
        var data = Path.Combine(Path.GetTempPath(), "ferry-cli-" + Guid.NewGuid().ToString("N"));
        await using var first = await FerryProcess.StartAsync(data);

        var (code, stdout, stderr) = await FerryProcess.RunAsync(null, "serve", "--data", data,
            "--kafka", $"127.0.0.1:{FerryProcess.FreePort()}", "--amqp", $"127.0.0.1:{FerryProcess.FreePort()}",
            "--http", $"127.0.0.1:{FerryProcess.FreePort()}");

        Assert.Equal(1, code);
        Assert.Contains("in use by another Ferry process", stderr);
        Assert.DoesNotContain("   at ", stderr + stdout);
    }

    [Fact]
    public async Task Serve_AnswersHealth_AndExitsZeroOnSigterm()
    {
        var data = Path.Combine(Path.GetTempPath(), "ferry-cli-" + Guid.NewGuid().ToString("N"));
        await using var ferry = await FerryProcess.StartAsync(data);
        using var http = new HttpClient();

        var body = await http.GetStringAsync($"http://127.0.0.1:{ferry.HttpPort}/health");
        Assert.Equal("ok", JsonDocument.Parse(body).RootElement.GetProperty("status").GetString());
        Assert.True(File.Exists(Path.Combine(data, ".lock")));

        var stopwatch = Stopwatch.StartNew();
        ferry.Signal("TERM");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await ferry.Process.WaitForExitAsync(timeout.Token);
        Assert.Equal(0, ferry.Process.ExitCode);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task SecondBrokerOnTheSameDataDirectory_IsRefused()
    {
        var data = Path.Combine(Path.GetTempPath(), "ferry-cli-" + Guid.NewGuid().ToString("N"));
        await using var first = await FerryProcess.StartAsync(data);

        var (code, output) = await FerryProcess.RunToEndAsync("serve", "--data", data,
            "--http", $"127.0.0.1:{FerryProcess.FreePort()}", "--kafka", $"127.0.0.1:{FerryProcess.FreePort()}",
            "--amqp", $"127.0.0.1:{FerryProcess.FreePort()}");

        Assert.NotEqual(0, code);
        Assert.Contains("in use", output);
    }

    [Fact]
    public async Task Settings_FromEnvironmentAndConfigFile_AreLayered_FlagsWinning()
    {
        var data = Path.Combine(Path.GetTempPath(), "ferry-cli-" + Guid.NewGuid().ToString("N"));
        int fileHttp = FerryProcess.FreePort(), envHttp = FerryProcess.FreePort();
        var config = Path.Combine(Path.GetTempPath(), $"ferry-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(config, $$"""{ "Data": "{{data}}", "Listeners": { "Http": "127.0.0.1:{{fileHttp}}" } }""");

        var info = FerryProcess.StartInfo("serve", "--config", config,
            "--kafka", $"127.0.0.1:{FerryProcess.FreePort()}", "--amqp", $"127.0.0.1:{FerryProcess.FreePort()}");
        info.Environment["FERRY_LISTENERS__HTTP"] = $"127.0.0.1:{envHttp}";
        using var process = Process.Start(info)!;
        try
        {
            using var http = new HttpClient();
            string? body = null;
            for (int i = 0; i < 300 && body is null; i++)
            {
                try { body = await http.GetStringAsync($"http://127.0.0.1:{envHttp}/health"); }
                catch (HttpRequestException) { await Task.Delay(50); }
            }
            Assert.NotNull(body); // the environment beat the file
            Assert.True(File.Exists(Path.Combine(data, ".lock"))); // the file's Data was used
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }
}
