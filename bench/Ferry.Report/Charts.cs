using ScottPlot;

namespace Ferry.Report;

/// <summary>
/// Grouped bar charts, one group per scenario and size, one bar per system: maximum throughput (msg/s in),
/// and p99 latency at 5,000 msg/s and at 80% of each system's maximum. Bars are pass medians; whiskers
/// span the passes' range.
/// </summary>
internal static class Charts
{
    private static readonly Dictionary<string, Color> SystemColors = new()
    {
        ["ferry"] = Color.FromHex("#1f77b4"),
        ["rabbitmq"] = Color.FromHex("#ff7f0e"),
        ["nats"] = Color.FromHex("#2ca02c"),
    };

    public static void Write(RunData data, string outDir, string name)
    {
        Bars(data, "max", r => r.InMsg, "Maximum throughput (msg/s acknowledged in)", "msg/s",
            Path.Combine(outDir, $"{name}-throughput.png"), data.Meta);
        Bars(data, "fixed", r => r.P99 / 1000, "p99 publish-to-consume latency at 5,000 msg/s", "ms",
            Path.Combine(outDir, $"{name}-latency-5000.png"), data.Meta);
        Bars(data, "80pct", r => r.P99 / 1000, "p99 publish-to-consume latency at 80% of each system's maximum", "ms",
            Path.Combine(outDir, $"{name}-latency-80pct.png"), data.Meta);
    }

    private static void Bars(RunData data, string point, Func<Run, double?> pick, string title, string unit, string path, Dictionary<string, string> meta)
    {
        var plot = new Plot();
        var ticks = new List<Tick>();
        var bars = new List<Bar>();
        double x = 0;
        foreach (var (scenario, _) in MarkdownReport.Scenarios)
        {
            foreach (int size in data.Runs.Where(r => r.Scenario == scenario && r.Point == point).Select(r => r.Size).Distinct().Order())
            {
                var systems = MarkdownReport.SystemOrder
                    .Select(s => (System: s, Stat: Stat.Of(data.Runs.Where(r => r.System == s && r.Scenario == scenario && r.Size == size && r.Point == point).Select(pick))))
                    .Where(s => s.Stat is not null).ToList();
                if (systems.Count == 0) continue;
                double start = x;
                foreach (var (system, stat) in systems)
                {
                    var s = stat!.Value;
                    bars.Add(new Bar
                    {
                        Position = x,
                        Value = s.Median,
                        FillColor = SystemColors.GetValueOrDefault(system, Colors.Gray),
                        // Whiskers from the lowest to the highest pass, drawn around the median bar.
                        Error = (s.Max - s.Min) / 2,
                        ErrorPositive = s.N > 1,
                        ErrorNegative = s.N > 1,
                    });
                    x += 1;
                }
                ticks.Add(new Tick((start + x - 1) / 2, $"{Short(scenario)}\n{size} B"));
                x += 0.8;
            }
        }
        if (bars.Count == 0) return;
        plot.Add.Bars(bars);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks.ToArray());
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.Axes.Bottom.TickLabelStyle.FontSize = 11;
        plot.Axes.Margins(bottom: 0);
        plot.Title(title);
        plot.YLabel(unit);
        plot.Axes.Left.Label.FontSize = 12;
        plot.Legend.IsVisible = true;
        plot.Legend.Alignment = Alignment.UpperRight;
        foreach (var system in MarkdownReport.SystemOrder.Where(s => data.Runs.Any(r => r.System == s && r.Point == point)))
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = system, FillColor = SystemColors[system] });
        string note = $"bench/run {meta.GetValueOrDefault("name", "")} · {meta.GetValueOrDefault("date", "")} · {meta.GetValueOrDefault("cores", "?")} cores · load {meta.GetValueOrDefault("loadavgAtStart", "?")}";
        plot.Add.Annotation(note, Alignment.UpperLeft);
        plot.SavePng(path, Math.Max(900, (int)(x * 45) + 150), 520);
    }

    private static string Short(string scenario) => scenario switch
    {
        "amqp durable" => "AMQP durable",
        "amqp transient" => "AMQP transient",
        "kafka acks=all" => "Kafka acks=all",
        "kafka acks=1" => "Kafka acks=1",
        "nats jetstream" => "JetStream",
        "kafka produce 3x acks=1" => "produce 3x",
        _ => scenario,
    };
}
