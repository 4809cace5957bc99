using System.Collections.Concurrent;
using Confluent.Kafka;

namespace Ferry.Kafka.Tests.Integration;

/// <summary>
/// The produce side of the kill tests (crash loops, power cuts): produces <c>PREFIX0</c>, <c>PREFIX1</c>, ... until
/// stopped and records each record the broker acknowledged with its offset; only those must survive the kill.
/// </summary>
internal static class AcknowledgedProduce
{
    /// <param name="pauseEvery">Sleep 10 ms after every this many records (0: as fast as the client takes them).</param>
    public static void Run(IProducer<string, string> producer, string topic, string prefix,
        ConcurrentDictionary<string, long> acknowledged, CancellationToken stop, int pauseEvery = 0)
    {
        for (int i = 0; !stop.IsCancellationRequested; i++)
        {
            try
            {
                producer.Produce(topic, new Message<string, string> { Key = "k", Value = $"{prefix}{i}" }, report =>
                {
                    if (report.Error.Code == ErrorCode.NoError) acknowledged[report.Message.Value] = report.Offset.Value;
                });
            }
            catch (ProduceException<string, string>)
            {
                Thread.Sleep(1); // local queue full: let deliveries catch up
            }
            if (pauseEvery > 0 && i % pauseEvery == pauseEvery - 1) Thread.Sleep(10);
        }
        producer.Flush(TimeSpan.FromSeconds(1)); // acknowledgements on their way before the kill; the rest fail and do not count
    }
}
