using System.Text;
using Ferry.Broker.Cluster;
using Ferry.Broker.Topics;
using Ferry.Kafka;
using Ferry.Storage;
using Ferry.Storage.Records;
using Microsoft.Extensions.Options;

namespace Ferry.Admin;

/// <summary>
/// Produce and read records over HTTP, for <c>ferry produce</c> and <c>ferry consume</c>: batches are built with
/// <see cref="RecordBatchBuilder"/> and appended through <see cref="Partition.Append"/>, and reads walk
/// <see cref="Partition.Read"/> with <see cref="RecordReader"/> (compressed batches opened by
/// <see cref="RecordBatchCompression"/>), so these records are the same bytes a Kafka client
/// sees. Keys, values and headers are UTF-8 text: the tools work on lines.
/// </summary>
internal static class RecordEndpoints
{
    private const int MaxRecordsPerRead = 10_000;
    private const int ReadBytes = 1 << 20;
    private static int _roundRobin;

    public static IEndpointRouteBuilder MapRecordEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/api/topics/{name}/records", ProduceAsync);
        endpoints.MapGet("/api/topics/{name}/partitions/{partition:int}/records", Read);
        return endpoints;
    }

    private static async Task<IResult> ProduceAsync(string name, HttpRequest request, TopicRegistry topics, IMetadataController controller,
        IOptions<KafkaOptions> kafka)
    {
        var (body, error) = await AdminResults.ReadBodyAsync(request, FerryJsonContext.Api.ProduceRequest).ConfigureAwait(false);
        if (error is not null) return error;
        var records = body!.Records ?? [];
        if (records.Count == 0) return AdminResults.BadRequest("No records to produce.");
        bool created = false;
        if (!topics.TryGet(name, out var topic))
        {
            // As a Kafka producer's first send: a missing topic is created (through the controller, as every topic
            // is) with the default partitions, unless auto-creation is off; then the answer says how to create it.
            if (!TopicNames.IsValid(name, out var invalid)) return AdminResults.BadRequest(invalid!);
            if (!kafka.Value.AutoCreateTopics)
                return AdminResults.NotFound($"Topic '{name}' does not exist and Kafka:AutoCreateTopics is off; create it with 'ferry topics create {name}'.");
            var result = await controller.CreateTopicAsync(new TopicSpec(name, kafka.Value.DefaultPartitions)).ConfigureAwait(false);
            if (!result.Succeeded && result.Error != TopicError.TopicAlreadyExists) return TopicEndpoints.FromTopicError(result);
            if (!topics.TryGet(name, out topic)) return TopicEndpoints.UnknownTopic(name);
            created = result.Succeeded;
        }

        int partitionCount = topic.Partitions.Count;
        // Records without key or partition go together to one partition per request (Kafka's sticky
        // partitioner does the same per batch), turning round the partitions request by request.
        int sticky = (int)((uint)Interlocked.Increment(ref _roundRobin) % (uint)partitionCount);
        var builders = new SortedDictionary<int, RecordBatchBuilder>();
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        foreach (var record in records)
        {
            int partition;
            if (record.Partition is { } explicitPartition)
            {
                if (explicitPartition < 0 || explicitPartition >= partitionCount)
                    return AdminResults.BadRequest($"Topic '{name}' has no partition {explicitPartition} (it has {partitionCount}).");
                partition = explicitPartition;
            }
            else
            {
                partition = record.Key is null ? sticky : KafkaPartitioner.Partition(Encoding.UTF8.GetBytes(record.Key), partitionCount);
            }
            if (!builders.TryGetValue(partition, out var builder)) builders[partition] = builder = new RecordBatchBuilder();
            var headers = record.Headers?.Select(h => new RecordHeader(Encoding.UTF8.GetBytes(h.Key), Encoding.UTF8.GetBytes(h.Value ?? ""))).ToArray() ?? [];
            builder.Add(record.Key is null ? default : Encoding.UTF8.GetBytes(record.Key), Encoding.UTF8.GetBytes(record.Value ?? ""),
                record.Timestamp ?? now, headers, nullKey: record.Key is null);
        }

        int maxBatch = topic.Options.MaxBatchBytes;
        foreach (var (partition, builder) in builders)
        {
            if (builder.Size > maxBatch)
                return AdminResults.Error(StatusCodes.Status413PayloadTooLarge,
                    $"The records for partition {partition} take {builder.Size} bytes, over max.message.bytes {maxBatch}; send fewer per request.");
        }

        var batches = new List<ProducedBatch>();
        foreach (var (index, builder) in builders)
        {
            var partition = topic.Partitions[index];
            var result = partition.Append(builder.ToArray());
            if (result.Error != PartitionAppendError.None)
                return AdminResults.BadRequest($"Append to {name}/{index} failed: {result.Error}.");
            long last = result.BaseOffset + builder.Count - 1;
            // acks=all: answer once the records are as durable as the log's policy makes them.
            await partition.WaitForCommitAsync(last).ConfigureAwait(false);
            batches.Add(new ProducedBatch(index, result.BaseOffset, last));
        }
        return AdminResults.Json(new ProduceResponse(name, records.Count, batches, created), FerryJsonContext.Api.ProduceResponse);
    }

    /// <summary>
    /// Up to <c>max</c> records from <c>offset</c>, or from the first record at or after <c>timestamp</c>
    /// (ms since the epoch). <c>offset</c> may be <c>-2</c> (earliest) or <c>-1</c> (latest), as in Kafka.
    /// </summary>
    private static IResult Read(string name, int partition, TopicRegistry topics, long? offset, long? timestamp, int? max)
    {
        if (!topics.TryGet(name, out var topic)) return TopicEndpoints.UnknownTopic(name);
        var p = topic.TryGetPartition(partition);
        if (p is null) return AdminResults.NotFound($"Topic '{name}' has no partition {partition}.");
        int limit = Math.Clamp(max ?? 500, 1, MaxRecordsPerRead);
        long start = offset switch
        {
            null or -2 => p.LogStartOffset,
            -1 => p.HighWatermark,
            { } o => o,
        };
        if (timestamp is { } ts) start = p.FindOffsetByTimestamp(ts) ?? p.HighWatermark;

        var response = new RecordsResponse(name, partition, p.LogStartOffset, p.HighWatermark, start, 0, []);
        long next = start;
        long skipped = 0;
        byte[]? buffer = null;
        while (response.Records.Count < limit)
        {
            var read = p.Read(next, ReadBytes);
            if (read.Status == LogReadStatus.OffsetOutOfRange)
            {
                read.Slice.Dispose();
                return AdminResults.Error(StatusCodes.Status416RangeNotSatisfiable,
                    $"Offset {next} is out of range for {name}/{partition}: the log holds [{read.LogStartOffset}, {read.LogEndOffset}).");
            }
            using (var slice = read.Slice)
            {
                if (slice.IsEmpty) break;
                if (buffer is null || buffer.Length < slice.Length) buffer = new byte[slice.Length];
                slice.CopyTo(buffer);
            }
            long before = next;
            int decodedBefore = response.Records.Count;
            next = Decode(buffer.AsSpan(0, read.Slice.Length), partition, next, limit, response.Records, ref skipped);
            // Reading through the admin API is consuming too: count it as a fetch is counted.
            p.Traffic.AddOut(response.Records.Count - decodedBefore, read.Slice.Length);
            if (next == before) break;
        }
        return AdminResults.Json(response with { NextOffset = next, SkippedUnreadable = skipped, HighWatermark = p.HighWatermark },
            FerryJsonContext.Api.RecordsResponse);
    }

    /// <summary>Decodes whole batches into <paramref name="records"/>; returns the offset to read next.</summary>
    private static long Decode(ReadOnlySpan<byte> batches, int partition, long next, int limit, List<ConsumedRecord> records, ref long skipped)
    {
        while (batches.Length >= RecordBatch.HeaderSize && records.Count < limit)
        {
            int size = RecordBatch.TotalSize(batches);
            if (size > batches.Length) break;
            var batch = batches[..size];
            batches = batches[size..];
            long batchEnd = RecordBatch.BaseOffset(batch) + RecordBatch.LastOffsetDelta(batch) + 1;
            if (batchEnd <= next) continue;
            if (RecordBatch.IsControl(batch))
            {
                next = batchEnd;
                continue;
            }
            if (RecordBatch.CompressionCodec(batch) != 0)
            {
                // Read here as a Kafka consumer reads it: opened. One whose data cannot be (a client compressed
                // garbage under a valid CRC) is skipped and counted, as a consumer could not read it either.
                try
                {
                    batch = RecordBatchCompression.Decompress(batch);
                }
                catch (InvalidDataException)
                {
                    skipped += batchEnd - Math.Max(next, RecordBatch.BaseOffset(batch));
                    next = batchEnd;
                    continue;
                }
            }
            var reader = new RecordReader(batch);
            while (reader.TryRead(out var record))
            {
                if (record.Offset < next) continue;
                if (records.Count >= limit) return next;
                var headers = new List<RecordHeaderEntry>(record.HeaderCount);
                var headerBytes = record.Headers;
                for (int h = 0; h < record.HeaderCount; h++)
                {
                    RecordReader.ReadHeader(ref headerBytes, out var key, out var value);
                    headers.Add(new RecordHeaderEntry(Encoding.UTF8.GetString(key), Encoding.UTF8.GetString(value)));
                }
                records.Add(new ConsumedRecord(partition, record.Offset, record.Timestamp,
                    record.KeyIsNull ? null : Encoding.UTF8.GetString(record.Key),
                    record.ValueIsNull ? null : Encoding.UTF8.GetString(record.Value), headers));
                next = record.Offset + 1;
            }
            next = Math.Max(next, batchEnd);
        }
        return next;
    }
}

/// <summary>Kafka's default partitioner for keyed records (murmur2, positive, modulo), so keys land where a Kafka producer would put them.</summary>
internal static class KafkaPartitioner
{
    public static int Partition(ReadOnlySpan<byte> key, int partitions) => (int)((uint)(Murmur2(key) & 0x7fffffff) % (uint)partitions);

    /// <summary>org.apache.kafka.common.utils.Utils.murmur2.</summary>
    public static int Murmur2(ReadOnlySpan<byte> data)
    {
        const uint seed = 0x9747b28c;
        const uint m = 0x5bd1e995;
        const int r = 24;
        int length = data.Length;
        uint h = seed ^ (uint)length;
        int length4 = length / 4;
        for (int i = 0; i < length4; i++)
        {
            int i4 = i * 4;
            uint k = (uint)(data[i4] | data[i4 + 1] << 8 | data[i4 + 2] << 16 | data[i4 + 3] << 24);
            k *= m;
            k ^= k >> r;
            k *= m;
            h *= m;
            h ^= k;
        }
        int tail = length4 * 4;
        switch (length % 4)
        {
            case 3:
                h ^= (uint)data[tail + 2] << 16;
                goto case 2;
            case 2:
                h ^= (uint)data[tail + 1] << 8;
                goto case 1;
            case 1:
                h ^= data[tail];
                h *= m;
                break;
        }
        h ^= h >> 13;
        h *= m;
        h ^= h >> 15;
        return (int)h;
    }
}
