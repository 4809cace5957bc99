using System.Globalization;
using System.Text;
using System.Text.Json;
using Ferry.Report;

// Turns the JSON lines of bench/run into a Markdown report (absolute figures, Ferry's ratios to its peers,
// the issue's goals) and PNG charts.
//   Ferry.Report RESULTS.jsonl [--out DIR] [--name NAME]
if (args.Length == 0 || !File.Exists(args[0]))
{
    Console.Error.WriteLine("usage: Ferry.Report RESULTS.jsonl [--out DIR] [--name NAME]");
    return 2;
}
string jsonl = args[0];
string outDir = Arg("--out") ?? Path.GetDirectoryName(Path.GetFullPath(jsonl))!;
string name = Arg("--name") ?? Path.GetFileNameWithoutExtension(jsonl);

var data = RunData.Load(jsonl);
var markdown = MarkdownReport.Write(data, name);
File.WriteAllText(Path.Combine(outDir, $"{name}.md"), markdown, new UTF8Encoding(false));
Charts.Write(data, outDir, name);
Console.WriteLine(markdown);
return 0;

string? Arg(string option)
{
    int i = Array.IndexOf(args, option);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

namespace Ferry.Report
{
    internal sealed record Run(
        string System, string Scenario, int Size, string Point, int Rate, int Pass, bool ExactlyOnce,
        double InMsg, double InMB, double OutMsg, double OutMB, double? P50, double? P99, double? P999,
        long Acked, double PeakRssMB, double Load1, double StartEpoch, double EndEpoch, double ClientAllocPerMsg,
        double? ServerCpu, double? ClientCpu)
    {
        public double? ServerAllocPerMsg { get; set; }
        public string Key => $"{Scenario}|{Size}|{Point}";
    }

    internal sealed record SystemInfo(string System, string Version, double StartMs, double IdleRssMB);

    internal sealed class RunData
    {
        public Dictionary<string, string> Meta { get; } = [];
        public List<(string Name, double Value, string Unit)> Limits { get; } = [];
        public List<SystemInfo> Systems { get; } = [];
        public List<Run> Runs { get; } = [];
        public List<string> Errors { get; } = [];

        public static RunData Load(string path)
        {
            var data = new RunData();
            string? countersFile = null;
            foreach (var text in File.ReadLines(path))
            {
                if (string.IsNullOrWhiteSpace(text)) continue;
                using var doc = JsonDocument.Parse(text);
                var e = doc.RootElement;
                switch (Str(e, "kind"))
                {
                    case "meta" or "meta-end":
                        foreach (var p in e.EnumerateObject()) data.Meta[p.Name] = p.Value.ToString();
                        break;
                    case "limit":
                        data.Limits.Add((Str(e, "name"), Num(e, "value") ?? 0, Str(e, "unit")));
                        break;
                    case "system":
                        data.Systems.Add(new SystemInfo(Str(e, "system"), Str(e, "version"), Num(e, "startMs") ?? 0, Num(e, "idleRssMB") ?? 0));
                        break;
                    case "counters":
                        countersFile = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, Str(e, "file"));
                        break;
                    case "error":
                        data.Errors.Add($"{Str(e, "system")} pass {Num(e, "pass")}: `{Str(e, "args")}` exit {Num(e, "exit")}: {Str(e, "stderr")}");
                        break;
                    case "result":
                        data.Runs.Add(new Run(Str(e, "system"), Str(e, "scenario"), (int)(Num(e, "size") ?? 0), Str(e, "point"),
                            (int)(Num(e, "rate") ?? 0), (int)(Num(e, "pass") ?? 1), e.TryGetProperty("exactlyOnce", out var x) && x.GetBoolean(),
                            Num(e, "produceMsgPerSec") ?? 0, Num(e, "produceMBPerSec") ?? 0, Num(e, "consumeMsgPerSec") ?? 0, Num(e, "consumeMBPerSec") ?? 0,
                            Num(e, "p50us"), Num(e, "p99us"), Num(e, "p999us"), (long)(Num(e, "acked") ?? 0), Num(e, "serverPeakRssMB") ?? 0,
                            Num(e, "loadavg1") ?? 0, Num(e, "startEpoch") ?? 0, Num(e, "endEpoch") ?? 0, Num(e, "clientAllocatedBytesPerMsg") ?? 0,
                            Num(e, "serverCpuCores"), Num(e, "clientCpuCores")));
                        break;
                }
            }
            if (countersFile is not null && File.Exists(countersFile)) data.AttributeAllocations(countersFile);
            return data;
        }

        /// <summary>
        /// dotnet-counters writes one row per second per counter, "dotnet.gc.heap.total_allocated (By / 1 sec)"
        /// among them, each covering the second before its timestamp. A run's allocations are the rows
        /// inside its wall-clock window; divided by the messages it moved, bytes per message (publish and
        /// delivery together, connection and topic set-up included).
        /// </summary>
        private void AttributeAllocations(string csv)
        {
            var rows = new List<(double Epoch, double Bytes)>();
            foreach (var line in File.ReadLines(csv).Skip(1))
            {
                var cells = line.Split(',');
                if (cells.Length < 5 || !cells[2].StartsWith("dotnet.gc.heap.total_allocated", StringComparison.Ordinal)) continue;
                if (!DateTime.TryParseExact(cells[0], "MM/dd/yyyy HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal, out var t)) continue;
                rows.Add((new DateTimeOffset(t).ToUnixTimeSeconds(), double.Parse(cells[4], CultureInfo.InvariantCulture)));
            }
            foreach (var run in Runs.Where(r => r.System == "ferry" && r.Acked > 0 && r.EndEpoch > 0))
            {
                double bytes = rows.Where(r => r.Epoch > run.StartEpoch && r.Epoch <= Math.Ceiling(run.EndEpoch)).Sum(r => r.Bytes);
                if (bytes > 0) run.ServerAllocPerMsg = bytes / run.Acked;
            }
        }

        private static string Str(JsonElement e, string name) =>
            e.TryGetProperty(name, out var v) ? v.ValueKind == JsonValueKind.String ? v.GetString()! : v.ToString() : "";

        private static double? Num(JsonElement e, string name) =>
            e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
    }

    /// <summary>Median of the passes, with their range as the spread.</summary>
    internal readonly record struct Stat(double Median, double Min, double Max, int N)
    {
        public static Stat? Of(IEnumerable<double?> values)
        {
            var v = values.Where(x => x.HasValue && double.IsFinite(x.Value)).Select(x => x!.Value).Order().ToArray();
            if (v.Length == 0) return null;
            double median = v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
            return new Stat(median, v[0], v[^1], v.Length);
        }

        public string Format(string format = "N0") =>
            N > 1 ? $"{Median.ToString(format, CultureInfo.InvariantCulture)} ({Min.ToString(format, CultureInfo.InvariantCulture)}–{Max.ToString(format, CultureInfo.InvariantCulture)})"
                  : Median.ToString(format, CultureInfo.InvariantCulture);
    }
}
