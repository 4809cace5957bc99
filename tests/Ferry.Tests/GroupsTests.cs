using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Ferry.Admin;
using Ferry.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Ferry.Tests;

/// <summary>
/// The group endpoints, commands and lag gauge against a stand-in <see cref="IConsumerGroupAdmin"/>, in an
/// in-process broker (the real coordinator is wired by the host when it lands).
/// </summary>
public sealed class GroupsTests : IAsyncLifetime
{
    private readonly FakeGroups _groups = new();
    private readonly string _data = Path.Combine(Path.GetTempPath(), "ferry-groups-" + Guid.NewGuid().ToString("N"));
    private WebApplication? _app;
    private string _server = "";
    private readonly HttpClient _http = new();

    public async ValueTask InitializeAsync()
    {
        int http = FerryProcess.FreePort();
        var flags = new Dictionary<string, string?>
        {
            ["Data"] = _data,
            ["Listeners:Http"] = $"127.0.0.1:{http}",
            ["Listeners:Kafka"] = $"127.0.0.1:{FerryProcess.FreePort()}",
            ["Listeners:Amqp"] = $"127.0.0.1:{FerryProcess.FreePort()}",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        _app = FerryHost.Build(null, flags, configureServices: s => s.AddSingleton<IConsumerGroupAdmin>(_groups));
        await _app.StartAsync();
        _server = $"http://127.0.0.1:{http}";
        _http.BaseAddress = new Uri(_server);
        Assert.Equal(HttpStatusCode.Created, (await _http.PostAsJsonAsync("/api/topics", new { name = "orders", partitions = 2 })).StatusCode);
        var records = Enumerable.Range(0, 5).Select(i => new { value = "r" + i, partition = 0 }).ToArray();
        Assert.Equal(HttpStatusCode.OK, (await _http.PostAsJsonAsync("/api/topics/orders/records", new { records })).StatusCode);
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        try { Directory.Delete(_data, recursive: true); } catch (IOException) { }
    }

    private Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args) => FerryProcess.RunAsync(null, [.. args, "--server", _server]);

    [Fact]
    public async Task ListAndDescribe_ComputeLagFromHighWatermarks()
    {
        var list = JsonDocument.Parse(await _http.GetStringAsync("/api/groups")).RootElement.EnumerateArray().ToList();
        Assert.Equal(["billing", "reports"], list.Select(g => g.GetProperty("groupId").GetString()));
        Assert.Equal(3, list[0].GetProperty("totalLag").GetInt64()); // committed 2 of 5 on partition 0

        var (code, stdout, _) = await RunAsync("groups", "describe", "billing");
        Assert.Equal(0, code);
        Assert.Contains("state Stable", stdout);
        Assert.Contains("consumer-1", stdout);
        Assert.Contains("orders-0,orders-1", stdout);
        Assert.Matches(@"orders\s+0\s+2\s+5\s+3", stdout);

        (code, _, var stderr) = await RunAsync("groups", "describe", "nobody");
        Assert.Equal(1, code);
        Assert.Equal("ferry: Consumer group 'nobody' does not exist.", stderr.Trim());

        var scrape = await _http.GetStringAsync("/metrics");
        Assert.Contains("ferry_group_lag{otel_scope_name=\"Ferry.Host\",group=\"billing\",partition=\"0\",topic=\"orders\"} 3", scrape);
    }

    [Fact]
    public async Task ResetOffsets_DryRunThenForReal_RefusedWhileMembersAreActive()
    {
        var (code, stdout, _) = await RunAsync("groups", "reset-offsets", "reports", "--topic", "orders", "--to-earliest", "--dry-run");
        Assert.Equal(0, code);
        Assert.Contains("dry run", stdout);
        Assert.Equal(4, _groups.Committed("reports", "orders", 0));

        (code, stdout, _) = await RunAsync("groups", "reset-offsets", "reports", "--topic", "orders", "--partition", "0", "--shift-by", "-3", "--json");
        Assert.Equal(0, code);
        Assert.Equal(1, JsonDocument.Parse(stdout).RootElement.GetProperty("offsets")[0].GetProperty("committedOffset").GetInt64());
        Assert.Equal(1, _groups.Committed("reports", "orders", 0));

        (code, _, _) = await RunAsync("groups", "reset-offsets", "reports", "--to-latest");
        Assert.Equal(0, code);
        Assert.Equal(5, _groups.Committed("reports", "orders", 0));

        (code, _, var stderr) = await RunAsync("groups", "reset-offsets", "billing", "--to-earliest");
        Assert.Equal(1, code);
        Assert.Contains("active members", stderr);

        var response = await _http.PostAsJsonAsync("/api/groups/reports/offsets", new { to = "sideways" });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Delete_RefusedWithMembers_AndConsumeFromAGroup()
    {
        var (code, _, stderr) = await RunAsync("groups", "delete", "billing");
        Assert.Equal(1, code);
        Assert.Contains("active members", stderr);

        var consumed = await RunAsync("consume", "orders", "--group", "billing", "-f", "%p:%o:%s\\n");
        Assert.Equal(0, consumed.ExitCode);
        Assert.Equal("0:2:r2\n0:3:r3\n0:4:r4\n", consumed.Stdout);

        (code, _, _) = await RunAsync("groups", "delete", "reports");
        Assert.Equal(0, code);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync("/api/groups/reports")).StatusCode);
    }

    private sealed class FakeGroups : IConsumerGroupAdmin
    {
        private readonly Lock _lock = new();
        private readonly Dictionary<string, Dictionary<(string, int), long>> _offsets = new()
        {
            ["billing"] = new() { [("orders", 0)] = 2 },
            ["reports"] = new() { [("orders", 0)] = 4, [("orders", 1)] = 0 },
        };

        public long Committed(string group, string topic, int partition)
        {
            lock (_lock) return _offsets[group][(topic, partition)];
        }

        private static bool HasMembers(string group) => group == "billing";

        public IReadOnlyList<ConsumerGroupListing> ListGroups()
        {
            lock (_lock)
                return _offsets.Keys.Select(g => new ConsumerGroupListing(g, HasMembers(g) ? "Stable" : "Empty", "consumer", HasMembers(g) ? 1 : 0)).ToList();
        }

        public ConsumerGroupDescription? DescribeGroup(string groupId)
        {
            lock (_lock)
            {
                if (!_offsets.TryGetValue(groupId, out var offsets)) return null;
                var members = HasMembers(groupId)
                    ? new List<ConsumerGroupMember> { new("consumer-1-abc", null, "consumer-1", "/127.0.0.1", [new("orders", 0), new("orders", 1)]) }
                    : [];
                return new ConsumerGroupDescription(groupId, HasMembers(groupId) ? "Stable" : "Empty", "consumer", HasMembers(groupId) ? "range" : "",
                    members, offsets.Select(o => new CommittedOffset(o.Key.Item1, o.Key.Item2, o.Value, null)).ToList());
            }
        }

        public GroupAdminResult DeleteGroup(string groupId)
        {
            lock (_lock)
            {
                if (!_offsets.ContainsKey(groupId)) return new(GroupAdminStatus.GroupNotFound);
                if (HasMembers(groupId)) return new(GroupAdminStatus.GroupNotEmpty, $"Consumer group '{groupId}' has active members.");
                _offsets.Remove(groupId);
                return GroupAdminResult.Ok;
            }
        }

        public GroupAdminResult ResetOffsets(string groupId, IReadOnlyList<GroupOffsetChange> offsets)
        {
            lock (_lock)
            {
                if (HasMembers(groupId)) return new(GroupAdminStatus.GroupNotEmpty, $"Consumer group '{groupId}' has active members.");
                var group = _offsets.TryGetValue(groupId, out var existing) ? existing : _offsets[groupId] = [];
                foreach (var change in offsets) group[(change.Topic, change.Partition)] = change.Offset;
                return GroupAdminResult.Ok;
            }
        }
    }
}
