using System.Diagnostics.Metrics;
using Ferry.Admin;
using Ferry.Broker.Queues;
using Ferry.Broker.Topics;

namespace Ferry.Metrics;

/// <summary>
/// The broker's observable instruments: traffic per topic and per queue, queue depth, log sizes and
/// consumer-group lag. They read the domain's own counters when Prometheus scrapes, so the produce, fetch,
/// publish and deliver paths pay nothing for them but a counter increment (see
/// <see cref="Broker.Diagnostics.TrafficCounters"/>). Request latency, fsync latency and connections are
/// recorded where they happen, by the protocol and storage meters.
/// </summary>
internal sealed class FerryMetrics
{
    public const string MeterName = "Ferry.Host";

    /// <summary>Every meter the host exports: its own and those of the layers (static meters named Ferry.*).</summary>
    public const string AllMeters = "Ferry.*";

    /// <summary>Bucket bounds in seconds for every latency histogram: 50 µs to 10 s.</summary>
    public static readonly double[] LatencyBuckets = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly TopicRegistry _topics;
    private readonly QueueBroker _queues;
    private readonly ConsumerGroups _groups;

    public FerryMetrics(IMeterFactory meterFactory, TopicRegistry topics, QueueBroker queues, ConsumerGroups groups)
    {
        _topics = topics;
        _queues = queues;
        _groups = groups;
        var meter = meterFactory.Create(MeterName);
        meter.CreateObservableCounter("ferry.topic.messages.in", () => PerTopic(static p => p.Traffic.MessagesIn), "{message}", "Messages appended to a topic");
        meter.CreateObservableCounter("ferry.topic.messages.out", () => PerTopic(static p => p.Traffic.MessagesOut), "{message}", "Messages fetched from a topic");
        meter.CreateObservableCounter("ferry.topic.bytes.in", () => PerTopic(static p => p.Traffic.BytesIn), "By", "Record batch bytes appended to a topic");
        meter.CreateObservableCounter("ferry.topic.bytes.out", () => PerTopic(static p => p.Traffic.BytesOut), "By", "Record batch bytes fetched from a topic");
        meter.CreateObservableGauge("ferry.topic.log.size", () => PerTopic(static p => p.SizeInBytes), "By", "Bytes on disk of a topic's logs");
        meter.CreateObservableCounter("ferry.queue.messages.in", () => PerQueue(static q => q.Traffic.MessagesIn), "{message}", "Messages enqueued on a queue");
        meter.CreateObservableCounter("ferry.queue.messages.out", () => PerQueue(static q => q.Traffic.MessagesOut), "{message}", "Messages delivered from a queue");
        meter.CreateObservableCounter("ferry.queue.bytes.in", () => PerQueue(static q => q.Traffic.BytesIn), "By", "Message body bytes enqueued on a queue");
        meter.CreateObservableCounter("ferry.queue.bytes.out", () => PerQueue(static q => q.Traffic.BytesOut), "By", "Message body bytes delivered from a queue");
        meter.CreateObservableGauge("ferry.queue.depth", () => PerQueue(static q => q.MessageCount), "{message}", "Messages ready for delivery in a queue");
        meter.CreateObservableGauge("ferry.queue.unacked", () => PerQueue(static q => q.UnackedCount), "{message}", "Messages delivered and not yet acknowledged");
        meter.CreateObservableGauge("ferry.queue.consumers", () => PerQueue(static q => q.ConsumerCount), "{consumer}", "Consumers of a queue");
        meter.CreateObservableGauge("ferry.group.lag", GroupLag, "{message}", "Messages between a consumer group's committed offset and the partition's high watermark");
    }

    private IEnumerable<Measurement<long>> PerTopic(Func<Partition, long> value)
    {
        foreach (var topic in _topics.Topics)
        {
            long total = 0;
            foreach (var partition in topic.Partitions) total += value(partition);
            yield return new Measurement<long>(total, new KeyValuePair<string, object?>("topic", topic.Name));
        }
    }

    private IEnumerable<Measurement<long>> PerQueue(Func<AmqpQueue, long> value)
    {
        foreach (var queue in _queues.Queues) yield return new Measurement<long>(value(queue), new KeyValuePair<string, object?>("queue", queue.Name));
    }

    private IEnumerable<Measurement<long>> GroupLag()
    {
        if (_groups.Admin is not { } admin) yield break;
        foreach (var listing in admin.ListGroups())
        {
            if (_groups.Describe(listing.GroupId) is not { } group) continue;
            foreach (var offset in group.Offsets)
            {
                yield return new Measurement<long>(offset.Lag,
                    new KeyValuePair<string, object?>("group", group.GroupId),
                    new KeyValuePair<string, object?>("topic", offset.Topic),
                    new KeyValuePair<string, object?>("partition", offset.Partition));
            }
        }
    }
}
