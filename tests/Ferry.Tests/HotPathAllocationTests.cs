using System.Diagnostics.Metrics;
using Ferry.Broker;
using Ferry.Broker.Topics;
using Ferry.Storage;
using Ferry.Storage.Records;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ferry.Tests;

/// <summary>The traffic counters on the produce path cost no per-message allocation, with every Ferry instrument listened to.</summary>
public sealed class HotPathAllocationTests
{
    [Fact]
    public async Task PartitionAppend_WithMetricsListening_AllocatesNothingPerAppend()
    {
        var data = Path.Combine(Path.GetTempPath(), "ferry-alloc-" + Guid.NewGuid().ToString("N"));
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name.StartsWith("Ferry.", StringComparison.Ordinal)) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, _, _, _) => { });
        listener.SetMeasurementEventCallback<double>((_, _, _, _) => { });
        listener.Start();

        var registry = TopicRegistry.Open(new BrokerOptions
        {
            DataDirectory = data,
            DefaultLogOptions = new LogOptions { FsyncOnDurableWrite = false },
        }, NullLoggerFactory.Instance);
        try
        {
            Assert.True(registry.Create("alloc", 1).Succeeded);
            registry.TryGet("alloc", out var topic);
            var partition = topic.Partitions[0];
            var batch = new RecordBatchBuilder().Add("k"u8, "value"u8, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()).ToArray();
            for (int i = 0; i < 100; i++) partition.Append(batch); // warm up: JIT, segment, indexes

            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1000; i++) partition.Append(batch);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

            Assert.Equal(1100, partition.Traffic.MessagesIn);
            // Nothing per append (the smallest object is 24 bytes): what remains is the log's amortized growth
            // (sparse index arrays doubling now and then), not the instrumentation.
            Assert.True(allocated < 1000 * 8, $"{allocated} bytes allocated by 1000 appends");
        }
        finally
        {
            await registry.DisposeAsync();
            Directory.Delete(data, recursive: true);
        }
    }
}
