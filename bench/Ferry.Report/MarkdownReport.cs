using System.Globalization;
using System.Text;

namespace Ferry.Report;

internal static class MarkdownReport
{
    /// <summary>Scenarios in report order, with the label a reader sees.</summary>
    public static readonly (string Scenario, string Label)[] Scenarios =
    [
        ("amqp durable", "AMQP durable queue, persistent, confirms, manual ack"),
        ("amqp transient", "AMQP transient, no confirms, auto-ack"),
        ("kafka acks=all", "Kafka acks=all (Ferry: after fsync)"),
        ("kafka acks=1", "Kafka acks=1 (page cache)"),
        ("nats jetstream", "NATS JetStream file stream (PubAck: written, not fsync'd)"),
        ("kafka produce 3x acks=1", "Kafka produce only, 3 producers, acks=1 (Confluent.Kafka)"),
        ("kafka produce 3x acks=1 wire", "Kafka produce only, 3 producers, acks=1 (wire producer: 1 MiB batches, 5 in flight)"),
    ];

    public static readonly string[] SystemOrder = ["ferry", "ferry-cluster", "rabbitmq", "nats"];

    /// <summary>The Kafka scenarios run on one node and on the three-node cluster (RF 3), compared in one table.</summary>
    public static readonly (string Scenario, string Label)[] Replicated =
    [
        ("kafka acks=all", "acks=all (fsync'd; on the cluster on 2 of 3 in-sync replicas)"),
        ("kafka acks=1", "acks=1 (the leader's page cache)"),
        ("kafka produce 3x acks=all", "produce only, 3 producers, acks=all"),
    ];

    /// <summary>Ferry's scenario beside the peer's that does the same job.</summary>
    public static readonly (string Label, string FerryScenario, string Peer, string PeerScenario)[] Comparisons =
    [
        ("AMQP durable + confirms", "amqp durable", "rabbitmq", "amqp durable"),
        ("AMQP transient", "amqp transient", "rabbitmq", "amqp transient"),
        ("Streams: Ferry acks=all (fsync'd) vs JetStream (not fsync'd)", "kafka acks=all", "nats", "nats jetstream"),
        ("Streams: Ferry acks=1 vs JetStream (both acknowledge from the page cache)", "kafka acks=1", "nats", "nats jetstream"),
    ];

    public static string Write(RunData data, string name)
    {
        var md = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        string M(string key) => data.Meta.TryGetValue(key, out var v) ? v : "?";

        md.AppendLine(inv, $"# Ferry side by side — `{name}` run");
        md.AppendLine();
        md.AppendLine(inv, $"Command `{M("command")}`, {M("date")}, Ferry commit `{M("ferryCommit")}`; {M("cores")} cores, {M("memMB")} MB, Linux {M("kernel")}, .NET SDK {M("dotnet")}; RabbitMQ {M("rabbitmq")}, nats-server {M("nats")}.");
        md.AppendLine(inv, $"{M("secondsPerRun")} s per run, {M("passes")} pass(es); figures are medians of the passes with the range in parentheses. Load average at start {M("loadavgAtStart")}, at end {M("loadavgAtEnd")}: on a shared machine, read ratios rather than absolutes.");
        md.AppendLine();

        md.AppendLine("## Machine limits");
        md.AppendLine();
        md.AppendLine("| measurement | value |");
        md.AppendLine("|---|---:|");
        foreach (var (n, v, u) in data.Limits) md.AppendLine(inv, $"| {n} | {v.ToString("N1", inv)} {u} |");
        md.AppendLine();

        md.AppendLine("## Start, memory");
        md.AppendLine();
        md.AppendLine("| system | version | start to serving | idle RSS | peak RSS under load |");
        md.AppendLine("|---|---|---:|---:|---:|");
        foreach (var s in data.Systems)
        {
            double peak = data.Runs.Where(r => r.System == s.System).Select(r => r.PeakRssMB).DefaultIfEmpty(0).Max();
            md.AppendLine(inv, $"| {s.System} | {s.Version} | {s.StartMs.ToString("N0", inv)} ms | {s.IdleRssMB.ToString("N0", inv)} MB | {peak.ToString("N0", inv)} MB |");
        }
        md.AppendLine();

        md.AppendLine("## Maximum throughput");
        md.AppendLine();
        md.AppendLine("In: acknowledged publishes per second while publishing. Out: messages consumed per second from the first publish until the last message arrived. Exactly-once: every acknowledged message received once, in every pass. Server alloc: bytes Ferry allocated per message moved (dotnet-counters); client alloc: the load generator's own. CPU: cores busy on average over the run (the server's process tree; the load generator), out of 2.");
        md.AppendLine();
        md.AppendLine("| scenario | size | system | msg/s in | MB/s in | msg/s out | MB/s out | exactly-once | server alloc B/msg | client alloc B/msg | CPU server | CPU client | peak RSS MB |");
        md.AppendLine("|---|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|");
        foreach (var (scenario, label) in Scenarios)
        {
            foreach (var group in data.Runs.Where(r => r.Scenario == scenario && r.Point == "max")
                         .GroupBy(r => (r.Size, r.System)).OrderBy(g => g.Key.Size).ThenBy(g => Array.IndexOf(SystemOrder, g.Key.System)))
            {
                var runs = group.ToList();
                md.AppendLine(inv, $"| {label} | {group.Key.Size} B | {group.Key.System} | {F(runs, r => r.InMsg)} | {F(runs, r => r.InMB, "N1")} | {F(runs, r => r.OutMsg)} | {F(runs, r => r.OutMB, "N1")} | {Exact(runs)} | {F(runs, r => r.ServerAllocPerMsg)} | {F(runs, r => r.ClientAllocPerMsg)} | {F(runs, r => r.ServerCpu, "N2")} | {F(runs, r => r.ClientCpu, "N2")} | {F(runs, r => r.PeakRssMB)} |");
            }
        }
        md.AppendLine();

        md.AppendLine("## Latency, publish to consume");
        md.AppendLine();
        md.AppendLine("Microseconds from the publisher stamping a message to the consumer receiving it (one process, one monotonic clock), after a warm-up of up to 1 s; at a fixed 5,000 msg/s and at 80% of the sustainable maximum that system measured in the same pass.");
        md.AppendLine();
        md.AppendLine("| scenario | size | system | rate msg/s | p50 µs | p99 µs | p99.9 µs | exactly-once |");
        md.AppendLine("|---|---:|---|---:|---:|---:|---:|---|");
        foreach (var (scenario, label) in Scenarios)
        {
            foreach (var group in data.Runs.Where(r => r.Scenario == scenario && r.Point is "fixed" or "80pct")
                         .GroupBy(r => (r.Size, r.Point, r.System)).OrderBy(g => g.Key.Size).ThenByDescending(g => g.Key.Point).ThenBy(g => Array.IndexOf(SystemOrder, g.Key.System)))
            {
                var runs = group.ToList();
                md.AppendLine(inv, $"| {label} | {group.Key.Size} B | {group.Key.System} | {F(runs, r => r.Rate)} | {F(runs, r => r.P50)} | {F(runs, r => r.P99)} | {F(runs, r => r.P999)} | {Exact(runs)} |");
            }
        }
        md.AppendLine();

        md.AppendLine("## Ferry's ratio to its peers");
        md.AppendLine();
        md.AppendLine("Ferry's median over the peer's median, same scenario, size and run. Throughput: above 1 is better for Ferry. p99: below 1 is better for Ferry.");
        md.AppendLine();
        md.AppendLine("| comparison | size | msg/s in | msg/s out | p99 @ 5,000 msg/s | p99 @ 80% of own max | peak RSS |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var (label, ferryScenario, peer, peerScenario) in Comparisons)
        {
            foreach (int size in data.Runs.Select(r => r.Size).Distinct().Order())
            {
                var f = data.Runs.Where(r => r.System == "ferry" && r.Scenario == ferryScenario && r.Size == size).ToList();
                var p = data.Runs.Where(r => r.System == peer && r.Scenario == peerScenario && r.Size == size).ToList();
                if (f.Count == 0 || p.Count == 0) continue;
                md.AppendLine(inv, $"| {label} (vs {peer}) | {size} B | {Ratio(f, p, "max", r => r.InMsg)} | {Ratio(f, p, "max", r => r.OutMsg)} | {Ratio(f, p, "fixed", r => r.P99)} | {Ratio(f, p, "80pct", r => r.P99)} | {Ratio(f, p, null, r => r.PeakRssMB)} |");
            }
        }
        md.AppendLine();

        if (data.Runs.Any(r => r.System == "ferry-cluster"))
        {
            md.AppendLine("## Replicated: three nodes against one");
            md.AppendLine();
            md.AppendLine("The cluster (`ferry-cluster`: three nodes on this machine, the topic on all three, min.insync.replicas 2) over the single node (`ferry`), same scenario, size and run. Throughput: 1 is no cost for replication; p99: 1 is no added latency. The three nodes share the machine's 2 cores and one disk with each other and the load generator.");
            md.AppendLine();
            md.AppendLine("| scenario | size | msg/s in | msg/s out | p99 @ 5,000 msg/s | p99.9 @ 5,000 msg/s | p99 @ 80% of own max | peak RSS |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var (scenario, label) in Replicated)
            {
                foreach (int size in data.Runs.Select(r => r.Size).Distinct().Order())
                {
                    var c = data.Runs.Where(r => r.System == "ferry-cluster" && r.Scenario == scenario && r.Size == size).ToList();
                    var f = data.Runs.Where(r => r.System == "ferry" && r.Scenario == scenario && r.Size == size).ToList();
                    if (c.Count == 0 || f.Count == 0) continue;
                    md.AppendLine(inv, $"| {label} | {size} B | {Ratio(c, f, "max", r => r.InMsg)} | {Ratio(c, f, "max", r => r.OutMsg)} | {Ratio(c, f, "fixed", r => r.P99)} | {Ratio(c, f, "fixed", r => r.P999)} | {Ratio(c, f, "80pct", r => r.P99)} | {Ratio(c, f, null, r => r.PeakRssMB)} |");
                }
            }
            md.AppendLine();
        }

        md.AppendLine("## The issue's goals");
        md.AppendLine();
        md.AppendLine("| goal | measured | met |");
        md.AppendLine("|---|---|---|");
        foreach (var (goal, measured, met) in Goals(data)) md.AppendLine(inv, $"| {goal} | {measured} | {(met is null ? "n/a" : met.Value ? "yes" : "**no**")} |");
        md.AppendLine();

        if (data.Errors.Count > 0)
        {
            md.AppendLine("## Runs that did not finish");
            md.AppendLine();
            foreach (var e in data.Errors) md.AppendLine(inv, $"- {e}");
            md.AppendLine();
        }
        return md.ToString();
    }

    private static IEnumerable<(string Goal, string Measured, bool? Met)> Goals(RunData data)
    {
        var inv = CultureInfo.InvariantCulture;
        double? Median(string system, string scenario, int size, string point, Func<Run, double?> pick) =>
            Stat.Of(data.Runs.Where(r => r.System == system && r.Scenario == scenario && r.Size == size && r.Point == point).Select(pick))?.Median;

        var fd = Median("ferry", "amqp durable", 1024, "max", r => r.InMsg);
        var rd = Median("rabbitmq", "amqp durable", 1024, "max", r => r.InMsg);
        yield return ("AMQP durable + confirms, 1 KiB: Ferry ≥ 2× RabbitMQ msg/s",
            fd is null || rd is null ? "not measured" : string.Create(inv, $"{fd:N0} vs {rd:N0} msg/s = {fd / rd:N2}×"),
            fd is null || rd is null ? null : fd >= 2 * rd);
        var fp = Median("ferry", "amqp durable", 1024, "fixed", r => r.P99);
        var rp = Median("rabbitmq", "amqp durable", 1024, "fixed", r => r.P99);
        yield return ("AMQP durable, 1 KiB, p99 at 5,000 msg/s: Ferry ≤ RabbitMQ",
            fp is null || rp is null ? "not measured" : string.Create(inv, $"{fp:N0} vs {rp:N0} µs"),
            fp is null || rp is null ? null : fp <= rp);
        var fs = Median("ferry", "kafka acks=all", 100, "max", r => r.InMsg);
        var ns = Median("nats", "nats jetstream", 100, "max", r => r.InMsg);
        yield return ("Streams, 100 B, durable ack: Ferry acks=all ≥ 3× JetStream msg/s",
            fs is null || ns is null ? "not measured" : string.Create(inv, $"{fs:N0} vs {ns:N0} msg/s = {fs / ns:N2}×"),
            fs is null || ns is null ? null : fs >= 3 * ns);
        var disk = data.Limits.Where(l => l.Name == "disk sequential write, buffered").Select(l => (double?)l.Value).FirstOrDefault();
        // The buffered figure is the page cache's speed while the file fits in memory; the synced one is what
        // the device sustains. The goal is against the first; the second is shown beside it.
        var synced = data.Limits.Where(l => l.Name == "disk sequential write, buffered then one fdatasync").Select(l => (double?)l.Value).FirstOrDefault();
        // Two producers: Confluent.Kafka (what users run; on 2 cores it takes more CPU than the broker) and the
        // wire producer (the broker's own ceiling, the client nearly free). Both are shown; each is judged.
        foreach (var (scenario, client) in new[] { ("kafka produce 3x acks=1", "Confluent.Kafka"), ("kafka produce 3x acks=1 wire", "wire producer") })
        {
            var kp = Median("ferry", scenario, 1024, "max", r => r.InMB);
            if (kp is null && client == "wire producer") continue;
            string syncedNote = synced is null || kp is null ? "" : string.Create(inv, $" ({kp / synced:P0} of {synced:N1} MB/s written and synced)");
            yield return ($"Kafka produce, 1 KiB, acks=1, 3 producers ({client}): ≥ 50% of the disk's buffered sequential write",
                kp is null || disk is null ? "not measured" : string.Create(inv, $"{kp:N1} of {disk:N1} MB/s = {kp / disk:P0}{syncedNote}"),
                kp is null || disk is null ? null : kp >= 0.5 * disk);
        }
        var ca = Median("ferry-cluster", "kafka acks=all", 1024, "max", r => r.InMsg);
        var sa = Median("ferry", "kafka acks=all", 1024, "max", r => r.InMsg);
        yield return ("Replicated, Kafka acks=all 1 KiB, 3 nodes RF 3: ≥ 60% of one node's msg/s",
            ca is null || sa is null ? "not measured" : string.Create(inv, $"{ca:N0} vs {sa:N0} msg/s = {ca / sa:P0}"),
            ca is null || sa is null ? null : ca >= 0.6 * sa);
        var cp = Median("ferry-cluster", "kafka acks=all", 1024, "fixed", r => r.P99);
        var sp = Median("ferry", "kafka acks=all", 1024, "fixed", r => r.P99);
        yield return ("Replicated, Kafka acks=all 1 KiB, p99 at 5,000 msg/s: ≤ 2× one node's",
            cp is null || sp is null ? "not measured" : string.Create(inv, $"{cp:N0} vs {sp:N0} µs = {cp / sp:N2}×"),
            cp is null || sp is null ? null : cp <= 2 * sp);
        var ferry = data.Systems.FirstOrDefault(s => s.System == "ferry");
        var rabbit = data.Systems.FirstOrDefault(s => s.System == "rabbitmq");
        yield return ("Start to serving < 300 ms",
            ferry is null ? "not measured" : string.Create(inv, $"{ferry.StartMs:N0} ms (RabbitMQ {rabbit?.StartMs.ToString("N0", inv) ?? "?"} ms)"),
            ferry is null ? null : ferry.StartMs < 300);
        yield return ("Idle RSS < 60 MB",
            ferry is null ? "not measured" : string.Create(inv, $"{ferry.IdleRssMB:N0} MB"),
            ferry is null ? null : ferry.IdleRssMB < 60);
        var ferryRuns = data.Runs.Where(r => r.System == "ferry").ToList();
        var alloc = Stat.Of(ferryRuns.Where(r => r.Point == "max").Select(r => r.ServerAllocPerMsg));
        yield return ("No per-message allocation on the hot paths (Ferry's allocated bytes per message, throughput runs)",
            alloc is null ? "not measured (dotnet-counters missing)" : string.Create(inv, $"median {alloc.Value.Median:N0} B/msg, range {alloc.Value.Min:N0}–{alloc.Value.Max:N0}"),
            alloc is null ? null : alloc.Value.Max < 16);
        int exact = data.Runs.Count(r => r.ExactlyOnce);
        yield return ("Every run: each acknowledged message received exactly once",
            string.Create(inv, $"{exact} of {data.Runs.Count} runs ({data.Errors.Count} did not finish)"),
            exact == data.Runs.Count && data.Errors.Count == 0);
    }

    private static string F(List<Run> runs, Func<Run, double?> pick, string format = "N0") =>
        Stat.Of(runs.Select(pick))?.Format(format) ?? "–";

    private static string Exact(List<Run> runs) =>
        runs.All(r => r.ExactlyOnce) ? $"yes ({runs.Count})" : $"**FAILED** ({runs.Count(r => !r.ExactlyOnce)} of {runs.Count})";

    private static string Ratio(List<Run> ferry, List<Run> peer, string? point, Func<Run, double?> pick)
    {
        var f = Stat.Of(ferry.Where(r => point is null || r.Point == point).Select(pick));
        var p = Stat.Of(peer.Where(r => point is null || r.Point == point).Select(pick));
        if (f is null || p is null || p.Value.Median == 0) return "–";
        return (f.Value.Median / p.Value.Median).ToString("N2", CultureInfo.InvariantCulture) + "×";
    }
}
