using ScottPlot;

namespace Ferry.Report;

/// <summary>
/// Grouped bar charts, one group per scenario and size, one bar per system: maximum throughput (msg/s in),
/// and p99 latency at 5,000 msg/s and at 80% of each system's maximum. Bars are pass medians; whiskers
/// span the passes' range.
/// </summary>
internal static class Charts
{
    /// <summary>A bar series: one system through one scenario.</summary>
    private sealed record Series(string System, string Scenario, string Label, Color Color);

    private static readonly Series FerryDurable = new("ferry", "amqp durable", "ferry", Color.FromHex("#1f77b4"));
    private static readonly Series RabbitDurable = new("rabbitmq", "amqp durable", "rabbitmq", Color.FromHex("#ff7f0e"));
    private static readonly Series FerryTransient = new("ferry", "amqp transient", "ferry", Color.FromHex("#1f77b4"));
    private static readonly Series RabbitTransient = new("rabbitmq", "amqp transient", "rabbitmq", Color.FromHex("#ff7f0e"));
    private static readonly Series FerryAll = new("ferry", "kafka acks=all", "ferry, Kafka acks=all (fsync)", Color.FromHex("#1f77b4"));
    private static readonly Series FerryOne = new("ferry", "kafka acks=1", "ferry, Kafka acks=1", Color.FromHex("#9ecae1"));
    private static readonly Series Nats = new("nats", "nats jetstream", "nats, JetStream (acked before fsync)", Color.FromHex("#2ca02c"));
    private static readonly Series FerryProduce = new("ferry", "kafka produce 3x acks=1", "ferry, Confluent.Kafka", Color.FromHex("#1f77b4"));
    private static readonly Series FerryProduceWire = new("ferry", "kafka produce 3x acks=1 wire", "ferry, wire producer", Color.FromHex("#9ecae1"));

    /// <summary>Groups of bars that compare like with like.</summary>
    private static readonly (string Label, Series[] Series)[] Groups =
    [
        ("AMQP durable", [FerryDurable, RabbitDurable]),
        ("AMQP transient", [FerryTransient, RabbitTransient]),
        ("Streams", [FerryAll, FerryOne, Nats]),
        ("Kafka produce 3x", [FerryProduce, FerryProduceWire]),
    ];

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
        var legend = new Dictionary<string, Color>();
        foreach (var (groupLabel, series) in Groups)
        {
            foreach (int size in data.Runs.Where(r => r.Point == point && series.Any(s => s.Scenario == r.Scenario)).Select(r => r.Size).Distinct().Order())
            {
                double start = x;
                foreach (var one in series)
                {
                    var stat = Stat.Of(data.Runs.Where(r => r.System == one.System && r.Scenario == one.Scenario && r.Size == size && r.Point == point).Select(pick));
                    if (stat is not { } s) continue;
                    bars.Add(new Bar
                    {
                        Position = x,
                        Value = s.Median,
                        FillColor = one.Color,
                        // Whiskers span the passes' range, drawn symmetrically around the median bar.
                        Error = (s.Max - s.Min) / 2,
                        ErrorPositive = s.N > 1,
                        ErrorNegative = s.N > 1,
                    });
                    legend.TryAdd(one.Label, one.Color);
                    x += 1;
                }
                if (x == start) continue;
                ticks.Add(new Tick((start + x - 1) / 2, $"{groupLabel}\n{size} B"));
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
        foreach (var (label, color) in legend) plot.Legend.ManualItems.Add(new LegendItem { LabelText = label, FillColor = color });
        plot.ShowLegend(Edge.Bottom);
        string note = $"bench/run {meta.GetValueOrDefault("name", "")} · {meta.GetValueOrDefault("date", "")} · {meta.GetValueOrDefault("cores", "?")} cores · load {meta.GetValueOrDefault("loadavgAtStart", "?")}";
        plot.Add.Annotation(note, Alignment.UpperLeft);
        plot.SavePng(path, Math.Max(1000, (int)(x * 60) + 150), 600);
    }
}
