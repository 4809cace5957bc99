using Ferry.Admin;
using Ferry.Broker.Diagnostics;
using Ferry.Broker.Queues;
using Ferry.Broker.Topics;

namespace Ferry.Metrics;

/// <summary>
/// Turns the per-partition and per-queue traffic counters into rates for the admin API by sampling them every
/// few seconds: a rate is the difference between the last two samples over their interval. Prometheus users
/// compute their own rates from <c>/metrics</c>; this is for <c>ferry status</c> and a web console.
/// </summary>
internal sealed class RateSampler(TopicRegistry topics, QueueBroker queues, TimeProvider time) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    private Sample _previous = Sample.Empty;
    private volatile Rates _rates = Rates.Empty;

    public MessageRates Topic(string name) => _rates.Topics.GetValueOrDefault(name) ?? MessageRates.Zero;

    public MessageRates Queue(string name) => _rates.Queues.GetValueOrDefault(name) ?? MessageRates.Zero;

    public MessageRates AllTopics => _rates.AllTopics;

    public MessageRates AllQueues => _rates.AllQueues;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        SampleNow();
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false)) SampleNow();
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }

    private void SampleNow()
    {
        var sample = new Sample(time.GetTimestamp(), [], []);
        foreach (var topic in topics.Topics)
        {
            var totals = default(Totals);
            foreach (var partition in topic.Partitions) totals += partition.Traffic;
            sample.Topics[topic.Name] = totals;
        }
        foreach (var queue in queues.Queues) sample.Queues[queue.Name] = default(Totals) + queue.Traffic;

        var previous = _previous;
        _previous = sample;
        if (previous.Timestamp == 0) return;
        double seconds = time.GetElapsedTime(previous.Timestamp, sample.Timestamp).TotalSeconds;
        if (seconds <= 0) return;
        var topicRates = Diff(previous.Topics, sample.Topics, seconds);
        var queueRates = Diff(previous.Queues, sample.Queues, seconds);
        _rates = new Rates(topicRates, queueRates, Sum(topicRates.Values), Sum(queueRates.Values));
    }

    private static Dictionary<string, MessageRates> Diff(Dictionary<string, Totals> before, Dictionary<string, Totals> after, double seconds)
    {
        var rates = new Dictionary<string, MessageRates>(StringComparer.Ordinal);
        foreach (var (name, now) in after)
        {
            // A topic or queue created since the last sample counts from zero.
            var then = before.GetValueOrDefault(name);
            rates[name] = new MessageRates(
                Math.Max(0, now.MessagesIn - then.MessagesIn) / seconds,
                Math.Max(0, now.MessagesOut - then.MessagesOut) / seconds,
                Math.Max(0, now.BytesIn - then.BytesIn) / seconds,
                Math.Max(0, now.BytesOut - then.BytesOut) / seconds);
        }
        return rates;
    }

    private static MessageRates Sum(IEnumerable<MessageRates> rates)
    {
        double mi = 0, mo = 0, bi = 0, bo = 0;
        foreach (var r in rates)
        {
            mi += r.MessagesInPerSecond;
            mo += r.MessagesOutPerSecond;
            bi += r.BytesInPerSecond;
            bo += r.BytesOutPerSecond;
        }
        return new MessageRates(mi, mo, bi, bo);
    }

    private readonly record struct Totals(long MessagesIn, long MessagesOut, long BytesIn, long BytesOut)
    {
        public static Totals operator +(Totals t, TrafficCounters c) =>
            new(t.MessagesIn + c.MessagesIn, t.MessagesOut + c.MessagesOut, t.BytesIn + c.BytesIn, t.BytesOut + c.BytesOut);
    }

    private sealed record Sample(long Timestamp, Dictionary<string, Totals> Topics, Dictionary<string, Totals> Queues)
    {
        public static Sample Empty { get; } = new(0, [], []);
    }

    private sealed record Rates(
        Dictionary<string, MessageRates> Topics, Dictionary<string, MessageRates> Queues, MessageRates AllTopics, MessageRates AllQueues)
    {
        public static Rates Empty { get; } = new([], [], MessageRates.Zero, MessageRates.Zero);
    }
}
