using System.Runtime.InteropServices;
using Ferry.Broker.Security.Acls;
using Ferry.Broker.Topics;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Security;
using Ferry.Kafka.Server;
using Ferry.Storage;
using Ferry.Storage.Records;

namespace Ferry.Kafka.Handlers;

/// <summary>
/// Fetch: returns whole batches as stored, from each partition's fetch offset, within the partition and
/// response byte limits; waits (long-poll) up to max.wait.ms for min.bytes, woken by appends, never by
/// polling. Fetch sessions are answered as full fetches (session id 0), which clients accept. From v13 topics
/// are named by id only (an unknown id: UNKNOWN_TOPIC_ID); v15-17 add fields only replicas use. read_committed
/// reads stop at the last stable offset and name the aborted transactions in what they return, which the client
/// drops (KIP-98); read_uncommitted reads to the high watermark.
/// </summary>
public sealed class FetchHandler(TopicRegistry topics, Authorizer authorizer) : KafkaHandler<FetchRequest>
{
    public override short ApiKey => ApiKeys.Fetch;
    public override short MinVersion => 4;
    public override short MaxVersion => 17;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, FetchRequest request)
    {
        // A replica's fetch moves the high watermark and reads past it: only a broker may send one (Kafka answers
        // every partition CLUSTER_AUTHORIZATION_FAILED, as here).
        if (request.ReplicaId >= 0 && !authorizer.AllowedAsPeer(context))
            return new(ErrorResponse(request, context.ApiVersion, ErrorCodes.ClusterAuthorizationFailed));
        var partitions = Resolve(context, request, byId: context.ApiVersion >= 13, out var denied);
        // No partition to wait on (every topic asked for is gone): nothing can wake a long-poll, so answer now.
        var signals = request.MaxWaitMs > 0 && request.MinBytes > 0 ? WaitSignals(partitions) : null;
        var (response, bytes) = Read(request, partitions, context.ApiVersion, denied);
        if (bytes >= request.MinBytes || signals is null || bytes < 0) return new(CountOut(partitions, response));
        response.Dispose();
        return LongPollAsync(context, request, partitions, signals);
    }

    private async ValueTask<IKafkaMessage?> LongPollAsync(KafkaRequestContext context, FetchRequest request,
        List<(FetchRequest.FetchTopic Topic, FetchRequest.FetchPartition Request, Partition? Partition)> partitions, Task signals)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(request.MaxWaitMs);
        while (true)
        {
            var remaining = deadline - DateTime.UtcNow;
            if (remaining > TimeSpan.Zero)
            {
                try
                {
                    await signals.WaitAsync(remaining, context.ConnectionClosed).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    // max.wait.ms passed: answer with whatever there is.
                }
                catch (OperationCanceledException)
                {
                    // The connection is closing (server shutdown): answer now with whatever there is.
                    return Read(request, partitions, context.ApiVersion).Response;
                }
            }
            // Take the next signals before reading, so that an append between the read and the wait still wakes us.
            signals = WaitSignals(partitions)!; // the same partitions as the first time: not null
            var (response, bytes) = Read(request, partitions, context.ApiVersion);
            if (bytes >= request.MinBytes || bytes < 0 || DateTime.UtcNow >= deadline) return CountOut(partitions, response);
            response.Dispose();
        }
    }

    /// <summary>A task that completes on the next append to any known partition asked for; null when none is known.</summary>
    private static Task? WaitSignals(List<(FetchRequest.FetchTopic, FetchRequest.FetchPartition, Partition? Partition)> partitions)
    {
        var tasks = new List<Task>(partitions.Count);
        foreach (var (_, _, partition) in partitions)
        {
            if (partition is not null) tasks.Add(partition.Appended.NextAppendAsync());
        }
        return tasks.Count switch
        {
            0 => null,
            1 => tasks[0],
            _ => Task.WhenAny(tasks),
        };
    }

    /// <summary>
    /// The partitions asked for; one a consumer may not read (READ on the topic) is left unresolved and listed in
    /// <paramref name="denied"/>, answered TOPIC_AUTHORIZATION_FAILED. A replica was allowed as a whole before.
    /// </summary>
    private List<(FetchRequest.FetchTopic Topic, FetchRequest.FetchPartition Request, Partition? Partition)> Resolve(KafkaRequestContext context,
        FetchRequest request, bool byId, out HashSet<FetchRequest.FetchTopic>? denied)
    {
        denied = null;
        var list = new List<(FetchRequest.FetchTopic, FetchRequest.FetchPartition, Partition?)>();
        bool replica = request.ReplicaId >= 0;
        foreach (var topic in request.Topics)
        {
            Topic? found;
            if (byId) found = topics.Find(topic.TopicId);
            else topics.TryGet(topic.Topic, out found);
            if (!replica && !authorizer.Allowed(context, AclOperation.Read, AclResourceType.Topic, found?.Name ?? topic.Topic))
            {
                (denied ??= new(ReferenceEqualityComparer.Instance)).Add(topic);
                found = null;
            }
            foreach (var partition in topic.Partitions) list.Add((topic, partition, found?.TryGetPartition(partition.Partition)));
        }
        return list;
    }

    /// <summary>Every partition asked for answers the error (and the top-level code from v7, where it exists).</summary>
    protected override IKafkaMessage? ErrorResponse(FetchRequest request, short version, short errorCode)
    {
        var response = new FetchResponse { ErrorCode = errorCode, SessionId = 0 };
        foreach (var topic in request.Topics)
        {
            var entry = new FetchResponse.FetchableTopicResponse { Topic = topic.Topic, TopicId = topic.TopicId };
            foreach (var partition in topic.Partitions)
            {
                entry.Partitions.Add(new FetchResponse.PartitionData
                {
                    PartitionIndex = partition.Partition,
                    ErrorCode = errorCode,
                    HighWatermark = -1,
                    LastStableOffset = -1,
                    LogStartOffset = -1,
                    Records = ReadOnlyMemory<byte>.Empty,
                });
            }
            response.Responses.Add(entry);
        }
        return response;
    }

    /// <summary>
    /// Reads every partition into one pooled buffer and builds the response. Returns the record bytes found, or
    /// -1 if some partition has an error (errors are answered at once).
    /// </summary>
    private static (FetchResponse Response, long Bytes) Read(FetchRequest request,
        List<(FetchRequest.FetchTopic Topic, FetchRequest.FetchPartition Request, Partition? Partition)> partitions, short version,
        HashSet<FetchRequest.FetchTopic>? denied = null)
    {
        short unknown = version >= 13 ? ErrorCodes.UnknownTopicId : ErrorCodes.UnknownTopicOrPartition;
        var response = new FetchResponse { SessionId = 0 };
        long nowMs = Environment.TickCount64;
        bool readCommitted = request.IsolationLevel == 1;
        long budget = request.MaxBytes <= 0 ? int.MaxValue : request.MaxBytes;
        bool anyError = false;
        var slices = new LogSlice[partitions.Count];
        var results = new FetchResponse.PartitionData[partitions.Count];
        FetchResponse.FetchableTopicResponse? current = null;
        FetchRequest.FetchTopic? currentTopic = null;
        long total = 0;
        try
        {
            for (int i = 0; i < partitions.Count; i++)
            {
                var (topic, wanted, partition) = partitions[i];
                // One response entry per request entry (v13+ names are all empty: compare the entries, not names).
                if (current is null || !ReferenceEquals(currentTopic, topic))
                {
                    currentTopic = topic;
                    current = new FetchResponse.FetchableTopicResponse { Topic = topic.Topic, TopicId = topic.TopicId };
                    response.Responses.Add(current);
                }
                var data = new FetchResponse.PartitionData
                {
                    PartitionIndex = wanted.Partition,
                    HighWatermark = -1,
                    LastStableOffset = -1,
                    LogStartOffset = -1,
                    AbortedTransactions = readCommitted ? [] : null,
                    Records = ReadOnlyMemory<byte>.Empty,
                };
                results[i] = data;
                current.Partitions.Add(data);
                if (partition is null)
                {
                    data.ErrorCode = denied is not null && denied.Contains(topic) ? ErrorCodes.TopicAuthorizationFailed : unknown;
                    anyError = true;
                    continue;
                }
                if (partition.CheckLeaderEpoch(wanted.CurrentLeaderEpoch) is var epochCheck && epochCheck != EpochCheck.Ok)
                {
                    data.ErrorCode = ErrorCodes.ForEpochCheck(epochCheck);
                    data.CurrentLeader.LeaderId = partition.LeaderId;
                    data.CurrentLeader.LeaderEpoch = partition.LeaderEpoch;
                    anyError = true;
                    continue;
                }
                // KIP-74: only the first batch of the first partition with data may exceed the partition and
                // response limits, so that a consumer always progresses; any later one must fit in what is left.
                int limit = (int)Math.Min(wanted.PartitionMaxBytes, budget);
                bool first = total == 0;
                // A follower (replica id >= 0) reads to the log end and, by its fetch offset, moves the high
                // watermark; a consumer reads below the high watermark.
                var read = limit <= 0 && !first
                    ? new PartitionReadResult(LogReadStatus.Ok, LogSlice.Empty, partition.LogStartOffset, partition.HighWatermark, partition.LogEndOffset)
                    : request.ReplicaId >= 0
                        ? partition.ReadAsReplica(request.ReplicaId, wanted.FetchOffset, Math.Max(limit, 1), nowMs, wholeFirstBatch: first)
                        : partition.Read(wanted.FetchOffset, Math.Max(limit, 1), readCommitted ? ReadBound.LastStable : ReadBound.HighWatermark, wholeFirstBatch: first);
                data.HighWatermark = request.ReplicaId >= 0 ? partition.HighWatermark : read.HighWatermark;
                data.LastStableOffset = read.LastStableOffset >= 0 ? read.LastStableOffset : partition.LastStableOffset;
                if (readCommitted && !read.Slice.IsEmpty) AddAborted(data, partition, wanted.FetchOffset, data.LastStableOffset);
                data.LogStartOffset = read.LogStartOffset;
                if (read.Status == LogReadStatus.OffsetOutOfRange)
                {
                    data.ErrorCode = ErrorCodes.OffsetOutOfRange;
                    anyError = true;
                    continue;
                }
                if (limit <= 0 && total > 0)
                {
                    read.Slice.Dispose();
                    continue;
                }
                slices[i] = read.Slice;
                total += read.Slice.Length;
                budget -= read.Slice.Length;
            }

            // The slices move into the response: their bytes are read from the files as the response is written.
            for (int i = 0; i < slices.Length; i++)
            {
                if (slices[i].IsEmpty) continue;
                results[i].Records = response.Attach(new FileRecords(slices[i]));
                slices[i] = default;
            }
        }
        finally
        {
            foreach (var slice in slices) slice.Dispose();
        }
        return (response, anyError ? -1 : total);
    }

    /// <summary>The aborted transactions that records from <paramref name="fetchOffset"/> below <paramref name="upperBound"/> may belong to.</summary>
    private static void AddAborted(FetchResponse.PartitionData data, Partition partition, long fetchOffset, long upperBound)
    {
        // Nothing allocated unless the partition has aborted transactions at all (one volatile read).
        if (!partition.Transactions.HasAborted) return;
        var aborted = new List<AbortedTransaction>(0);
        if (!partition.Transactions.CollectAborted(fetchOffset, upperBound, aborted)) return;
        foreach (var txn in aborted)
            data.AbortedTransactions!.Add(new FetchResponse.AbortedTransaction { ProducerId = txn.ProducerId, FirstOffset = txn.FirstOffset });
    }

    /// <summary>
    /// Counts what a fetch response hands out, from the batch headers only (records are never opened, and file
    /// records are not even read: their slice knows where they end): the
    /// offsets from each fetch offset to the end of the last batch. Responses follow the order of
    /// <paramref name="partitions"/>; only the response actually sent is counted, not long-poll re-reads.
    /// </summary>
    private static FetchResponse CountOut(
        List<(FetchRequest.FetchTopic Topic, FetchRequest.FetchPartition Request, Partition? Partition)> partitions, FetchResponse response)
    {
        int i = 0;
        foreach (var topic in response.Responses)
        {
            foreach (var data in topic.Partitions)
            {
                var (_, wanted, partition) = partitions[i++];
                if (partition is null || data.Records is not { IsEmpty: false } records) continue;
                long end = wanted.FetchOffset;
                if (MemoryMarshal.TryGetMemoryManager(records, out FileRecords? file))
                {
                    partition.Traffic.AddOut(Math.Max(0, file.NextOffset - wanted.FetchOffset), records.Length);
                    continue;
                }
                for (var rest = records.Span; rest.Length >= RecordBatch.HeaderSize;)
                {
                    end = RecordBatch.BaseOffset(rest) + RecordBatch.LastOffsetDelta(rest) + 1;
                    int size = RecordBatch.TotalSize(rest);
                    if (size <= 0 || size > rest.Length) break;
                    rest = rest[size..];
                }
                partition.Traffic.AddOut(Math.Max(0, end - wanted.FetchOffset), records.Length);
            }
        }
        return response;
    }
}
