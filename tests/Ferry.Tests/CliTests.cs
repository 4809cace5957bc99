using System.Net.Http.Json;
using System.Text.Json;

namespace Ferry.Tests;

/// <summary>The <c>ferry</c> client commands against a live broker: output, JSON and exit codes.</summary>
public sealed class CliTests(LiveFerry ferry) : IClassFixture<LiveFerry>
{
    [Fact]
    public async Task Topics_CreateListDescribeDelete()
    {
        var (code, stdout, stderr) = await ferry.RunAsync("topics", "create", "cli-topics", "--partitions", "3", "--config", "retention.ms=3600000");
        Assert.True(code == 0, stderr);
        Assert.Equal("Created topic cli-topics with 3 partitions.", stdout.Trim());

        (code, stdout, _) = await ferry.RunAsync("topics", "list");
        Assert.Equal(0, code);
        Assert.Matches(@"cli-topics\s+3\s+0\s+0 B", stdout);

        (code, stdout, _) = await ferry.RunAsync("topics", "describe", "cli-topics", "--json");
        Assert.Equal(0, code);
        var topic = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(3, topic.GetProperty("partitions").GetArrayLength());
        var retention = topic.GetProperty("configs").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "retention.ms");
        Assert.Equal("3600000", retention.GetProperty("value").GetString());
        Assert.Equal("topic", retention.GetProperty("source").GetString());

        (code, stdout, _) = await ferry.RunAsync("topics", "describe", "cli-topics");
        Assert.Equal(0, code);
        Assert.Contains("PARTITION", stdout);
        Assert.Contains("retention.ms", stdout);

        (code, _, stderr) = await ferry.RunAsync("topics", "create", "cli-topics");
        Assert.Equal(1, code);
        Assert.Equal("ferry: Topic 'cli-topics' already exists.", stderr.Trim());

        (code, stdout, stderr) = await ferry.RunAsync("topics", "alter", "cli-topics", "--set", "retention.ms=1000", "--partitions", "4");
        Assert.True(code == 0, stderr);
        Assert.Contains("4 partitions", stdout);
        Assert.Contains("retention.ms=1000", stdout);

        (code, stdout, _) = await ferry.RunAsync("topics", "delete", "cli-topics");
        Assert.Equal(0, code);
        Assert.Equal("Deleted topic cli-topics.", stdout.Trim());

        (code, stdout, stderr) = await ferry.RunAsync("topics", "describe", "cli-topics");
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.Equal("ferry: Topic 'cli-topics' does not exist.", stderr.Trim());
    }

    [Fact]
    public async Task ProduceThenConsume_RoundTripsKeysValuesAndHeaders()
    {
        Assert.Equal(0, (await ferry.RunAsync("topics", "create", "cli-roundtrip", "-p", "2")).ExitCode);
        var file = Path.Combine(ferry.DataDirectory, "..", $"lines-{Guid.NewGuid():N}.txt");
        await File.WriteAllLinesAsync(file, ["k1:one", "k2:two", "", "k1:three"]);
        try
        {
            var (code, stdout, stderr) = await ferry.RunAsync("produce", "cli-roundtrip", "--file", file, "--key-separator", ":", "-H", "source=test");
            Assert.True(code == 0, stderr);
            Assert.StartsWith("Produced 3 records to cli-roundtrip", stdout.Trim());
        }
        finally
        {
            File.Delete(file);
        }

        // Stdin, a fixed partition and no key.
        var produced = await ferry.RunWithInputAsync("four\n", "produce", "cli-roundtrip", "--partition", "0", "--json");
        Assert.Equal(0, produced.ExitCode);
        Assert.Equal(1, JsonDocument.Parse(produced.Stdout).RootElement.GetProperty("count").GetInt32());

        var consumed = await ferry.RunAsync("consume", "cli-roundtrip", "--format", "%t %k=%s [%h]\\n");
        Assert.True(consumed.ExitCode == 0, consumed.Stderr);
        var lines = consumed.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.Contains("cli-roundtrip k1=one [source=test]", lines);
        Assert.Contains("cli-roundtrip k2=two [source=test]", lines);
        Assert.Contains("cli-roundtrip =four []", lines);
        // Records of one key keep their order (one partition, by Kafka's murmur2 of the key).
        Assert.True(Array.IndexOf(lines, "cli-roundtrip k1=one [source=test]") < Array.IndexOf(lines, "cli-roundtrip k1=three [source=test]"));

        consumed = await ferry.RunAsync("consume", "cli-roundtrip", "--partition", "0", "--offset", "-1", "-f", "%p:%o:%s\\n");
        Assert.Equal(0, consumed.ExitCode);
        Assert.EndsWith(":four", consumed.Stdout.Trim());
        Assert.StartsWith("0:", consumed.Stdout.Trim());

        consumed = await ferry.RunAsync("consume", "cli-roundtrip", "--count", "2", "--json");
        Assert.Equal(0, consumed.ExitCode);
        var records = consumed.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(2, records.Count);
        Assert.All(records, r => Assert.True(r.GetProperty("timestamp").GetInt64() > 0));

        consumed = await ferry.RunAsync("consume", "cli-roundtrip", "--from-timestamp", DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(0, consumed.ExitCode);
        Assert.Equal("", consumed.Stdout);

        consumed = await ferry.RunAsync("consume", "cli-roundtrip", "--offset", "end");
        Assert.Equal(0, consumed.ExitCode);
        Assert.Equal("", consumed.Stdout);
    }

    [Fact]
    public async Task UnknownTopic_ExitsOne_WithAOneLineError()
    {
        foreach (var args in new[] { new[] { "consume", "no-such-topic" }, ["topics", "delete", "no-such-topic"] })
        {
            var (code, stdout, stderr) = await ferry.RunWithInputAsync("x\n", args);
            Assert.Equal(1, code);
            Assert.Equal("", stdout);
            Assert.Equal("ferry: Topic 'no-such-topic' does not exist.", stderr.Trim());
        }
    }

    [Fact]
    public async Task BrokerDown_ExitsThree_WithAOneLineError()
    {
        string server = $"http://127.0.0.1:{FerryProcess.FreePort()}";
        var (code, stdout, stderr) = await FerryProcess.RunAsync(null, "topics", "list", "--server", server);
        Assert.Equal(3, code);
        Assert.Equal("", stdout);
        Assert.StartsWith($"ferry: cannot reach the broker at {server}/", stderr.Trim());
        Assert.DoesNotContain('\n', stderr.Trim());

        (code, _, _) = await FerryProcess.RunAsync(null, "status", "--server", server);
        Assert.Equal(3, code);

        // Written before the command, as scripts of earlier releases do, the option is still honoured.
        (code, _, stderr) = await FerryProcess.RunAsync(null, "--server", server, "--json", "topics", "list");
        Assert.Equal(3, code);
        Assert.StartsWith($"ferry: cannot reach the broker at {server}/", stderr.Trim());
    }

    [Fact]
    public async Task UsageMistakes_ExitTwo()
    {
        Assert.Equal(2, (await ferry.RunAsync("topics", "create")).ExitCode);
        Assert.Equal(2, (await ferry.RunAsync("topics", "list", "--no-such-option")).ExitCode);
        Assert.Equal(2, (await ferry.RunAsync("topics")).ExitCode);
        Assert.Equal(2, (await ferry.RunAsync("topics", "alter", "t")).ExitCode);
        Assert.Equal(2, (await ferry.RunAsync("consume", "t", "--offset", "soon")).ExitCode);
        var (code, _, stderr) = await ferry.RunAsync("topics", "create", "t", "--config", "retention.ms");
        Assert.Equal(2, code);
        Assert.Contains("KEY=VALUE", stderr);
    }

    [Fact]
    public async Task Queues_ListPurgeDelete_AfterADeclare()
    {
        var declared = await ferry.Http.PutAsync("/api/queues/cli-jobs", JsonContent.Create(new { durable = true, arguments = new Dictionary<string, string> { ["x-max-length"] = "100" } }));
        Assert.Equal(System.Net.HttpStatusCode.Created, declared.StatusCode);

        var (code, stdout, _) = await ferry.RunAsync("queues", "list");
        Assert.Equal(0, code);
        Assert.Matches(@"cli-jobs\s+classic\s+-\s+-\s+-\s+yes\s+0\s+0\s+0", stdout);

        // A quorum queue shows its leader, members and in-sync members (one node: this one, for all three).
        var quorum = await ferry.Http.PutAsync("/api/queues/cli-quorum", JsonContent.Create(new { durable = true, arguments = new Dictionary<string, string> { ["x-queue-type"] = "quorum" } }));
        Assert.Equal(System.Net.HttpStatusCode.Created, quorum.StatusCode);
        (code, stdout, _) = await ferry.RunAsync("queues", "list");
        Assert.Equal(0, code);
        Assert.Matches(@"cli-quorum\s+quorum\s+(\d+)\s+\1\s+\1\s+yes", stdout);
        Assert.Equal(0, (await ferry.RunAsync("queues", "delete", "cli-quorum")).ExitCode);

        (code, stdout, _) = await ferry.RunAsync("queues", "list", "--json");
        Assert.Equal(0, code);
        var queue = JsonDocument.Parse(stdout).RootElement.EnumerateArray().Single(q => q.GetProperty("name").GetString() == "cli-jobs");
        Assert.Equal("100", queue.GetProperty("arguments").GetProperty("x-max-length").GetString());

        (code, stdout, _) = await ferry.RunAsync("queues", "purge", "cli-jobs");
        Assert.Equal(0, code);
        Assert.Equal("Purged 0 messages from queue cli-jobs.", stdout.Trim());

        (code, _, _) = await ferry.RunAsync("queues", "delete", "cli-jobs");
        Assert.Equal(0, code);
        var (again, _, stderr) = await ferry.RunAsync("queues", "delete", "cli-jobs");
        Assert.Equal(1, again);
        Assert.Equal("ferry: Queue 'cli-jobs' does not exist.", stderr.Trim());

        (code, stdout, _) = await ferry.RunAsync("exchanges", "list");
        Assert.Equal(0, code);
        Assert.Contains("amq.topic", stdout);
        Assert.Equal(0, (await ferry.RunAsync("bindings", "list", "--json")).ExitCode);
    }

    [Fact]
    public async Task DefaultExchange_AndItsImplicitBindings_Listed_AsRabbitMqShowsThem()
    {
        Assert.Equal(System.Net.HttpStatusCode.Created, (await ferry.Http.PutAsync("/api/queues/cli-default-x", JsonContent.Create(new { durable = false }))).StatusCode);

        var exchanges = JsonDocument.Parse(await ferry.Http.GetStringAsync("/api/exchanges")).RootElement.EnumerateArray().ToList();
        var defaultExchange = Assert.Single(exchanges, x => x.GetProperty("name").GetString() == "");
        Assert.Equal("direct", defaultExchange.GetProperty("type").GetString());
        Assert.True(defaultExchange.GetProperty("durable").GetBoolean());
        var bindings = JsonDocument.Parse(await ferry.Http.GetStringAsync("/api/bindings")).RootElement.EnumerateArray();
        Assert.Contains(bindings, b => b.GetProperty("source").GetString() == "" && b.GetProperty("destination").GetString() == "cli-default-x"
            && b.GetProperty("destinationType").GetString() == "queue" && b.GetProperty("routingKey").GetString() == "cli-default-x");

        var (code, stdout, _) = await ferry.RunAsync("exchanges", "list");
        Assert.Equal(0, code);
        Assert.Matches(@"\(AMQP default\)\s+direct\s+yes\s+no\s+no", stdout);
        (code, stdout, _) = await ferry.RunAsync("bindings", "list");
        Assert.Equal(0, code);
        Assert.Matches(@"\(AMQP default\)\s+cli-default-x\s+queue\s+cli-default-x", stdout);
    }

    [Fact]
    public async Task Groups_UnknownGroup_FailsWithOneLine()
    {
        Assert.Equal(0, (await ferry.RunAsync("groups", "list")).ExitCode);
        var (code, stdout, stderr) = await ferry.RunAsync("groups", "describe", "no-such-group");
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.Contains("no-such-group", stderr);
        Assert.Equal(2, (await ferry.RunAsync("groups", "reset-offsets", "g")).ExitCode);
    }

    [Fact]
    public async Task Status_ShowsVersionAndListeners()
    {
        var (code, stdout, _) = await ferry.RunAsync("status");
        Assert.Equal(0, code);
        Assert.Contains("Ferry 0.", stdout);
        Assert.Contains($"kafka 127.0.0.1:{ferry.Process.KafkaPort}", stdout);

        (code, stdout, _) = await ferry.RunAsync("status", "--json");
        Assert.Equal(0, code);
        var overview = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(Path.GetFullPath(ferry.DataDirectory), overview.GetProperty("dataDirectory").GetString());
        Assert.True(overview.GetProperty("uptimeSeconds").GetDouble() >= 0);
    }

    [Fact]
    public async Task Produce_WithKcatsKeySeparatorForm_ToAMissingTopic_CreatesItAsAKafkaProducerDoes()
    {
        var (code, stdout, stderr) = await ferry.RunWithInputAsync("k1:hello\nk2:world\n", "produce", "cli-auto", "-K:");
        Assert.True(code == 0, stderr);
        Assert.Equal("Produced 2 records to new topic cli-auto (partition 0).", stdout.Trim());

        (code, stdout, stderr) = await ferry.RunWithInputAsync("k3:again\n", "produce", "cli-auto", "-K:");
        Assert.True(code == 0, stderr);
        Assert.Equal("Produced 1 record to cli-auto (partition 0).", stdout.Trim());

        (code, stdout, _) = await ferry.RunAsync("consume", "cli-auto", "--format", "%k=%s\\n");
        Assert.Equal(0, code);
        Assert.Equal(["k1=hello", "k2=world", "k3=again"], stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        (code, _, stderr) = await ferry.RunWithInputAsync("x\n", "produce", "no such topic");
        Assert.Equal(1, code);
        Assert.Contains("illegal", stderr);
    }

    [Theory]
    [InlineData("topcs list", "ferry topics")]
    [InlineData("topics lsit", "ferry topics list")]
    [InlineData("grups", "ferry groups")]
    public async Task MistypedCommand_SuggestsTheClosest(string typed, string suggested)
    {
        var (code, stdout, stderr) = await ferry.RunAsync(typed.Split(' '));
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains($"Did you mean '{suggested}'?", stderr);
    }

    [Fact]
    public async Task Messages_AreInWords_WithSingularAndPlural()
    {
        var (code, _, stderr) = await ferry.RunAsync("topics", "create", "cli-words", "--partitions", "many");
        Assert.Equal(2, code);
        Assert.Contains("as a whole number", stderr);
        Assert.DoesNotContain("System.", stderr);

        Assert.Equal(0, (await ferry.RunAsync("topics", "create", "cli-words")).ExitCode);
        var (altered, stdout, _) = await ferry.RunAsync("topics", "alter", "cli-words", "--set", "retention.ms=1000");
        Assert.Equal(0, altered);
        Assert.StartsWith("Altered topic cli-words: 1 partition; ", stdout);
    }

    [Fact]
    public async Task Tables_HaveNoTrailingSpaces_AndAnEmptyOneSaysNone()
    {
        Assert.Equal(0, (await ferry.RunAsync("topics", "create", "cli-table", "-p", "2")).ExitCode);
        foreach (var args in new[] { new[] { "topics", "list" }, ["topics", "describe", "cli-table"], ["exchanges", "list"], ["status"] })
        {
            var (code, stdout, _) = await ferry.RunAsync(args);
            Assert.Equal(0, code);
            Assert.All(stdout.Split('\n'), line => Assert.Equal(line.TrimEnd(), line));
        }

        var (listed, groups, _) = await ferry.RunAsync("groups", "list");
        Assert.Equal(0, listed);
        Assert.Equal("(none)", groups.Trim());
    }

    [Fact]
    public async Task ServeHelp_OffersOnlyServeOptions()
    {
        var (code, output) = await FerryProcess.RunToEndAsync("serve", "--help");
        Assert.Equal(0, code);
        Assert.Contains("--data", output);
        Assert.DoesNotContain("--server", output);
        Assert.DoesNotContain("--json", output);

        (code, output) = await FerryProcess.RunToEndAsync("topics", "list", "--help");
        Assert.Equal(0, code);
        Assert.Contains("--server", output);
        Assert.Contains("--json", output);
    }
}
