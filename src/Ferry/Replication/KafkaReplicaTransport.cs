using System.Collections.Concurrent;
using System.Net.Sockets;
using Ferry.Broker.Cluster;
using Ferry.Cluster.Replication;
using Ferry.Kafka;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Peers;

namespace Ferry.Replication;

/// <summary>
/// Followers reach their leaders as Kafka followers do: Kafka Fetch with a replica id (v12) and
/// OffsetForLeaderEpoch (v4) on the leader's Kafka listener, at the address the cluster view advertises. One
/// connection per followed partition, one request at a time on it, so that one partition's long-poll never
/// holds up another's.
/// </summary>
internal sealed class KafkaReplicaTransport(IClusterView cluster, PeerCredentials? credentials) : IReplicaTransport, IDisposable
{
    private const short FetchVersion = 12;
    private const short EpochVersion = 4;
    private readonly ConcurrentDictionary<(int Leader, string Topic, int Partition), KafkaPeerConnection> _connections = new();

    public async ValueTask<ReplicaFetchResponse> FetchAsync(int leaderId, ReplicaFetchRequest request, CancellationToken cancellationToken)
    {
        var fetch = new FetchRequest
        {
            ReplicaId = request.ReplicaId,
            MaxWaitMs = request.MaxWaitMs,
            MinBytes = 1,
            MaxBytes = request.MaxBytes,
            SessionEpoch = -1,
            Topics =
            [
                new FetchRequest.FetchTopic
                {
                    Topic = request.Topic,
                    Partitions = [new FetchRequest.FetchPartition
                    {
                        Partition = request.Partition,
                        CurrentLeaderEpoch = request.CurrentLeaderEpoch,
                        FetchOffset = request.FetchOffset,
                        PartitionMaxBytes = request.MaxBytes,
                    }],
                },
            ],
        };
        // Pooled: the records stay in the frame's buffer until the fetcher, having appended them, disposes the answer.
        var (response, buffer) = await SendAsync<FetchResponse>(leaderId, request.Topic, request.Partition, ApiKeys.Fetch, FetchVersion, fetch,
            TimeSpan.FromMilliseconds(request.MaxWaitMs) + TimeSpan.FromSeconds(10), pooled: true, cancellationToken).ConfigureAwait(false);
        if (response?.Responses is not [{ Partitions: [var data] }])
        {
            buffer?.Dispose();
            return ReplicaFetchResponse.Failed(ReplicaError.Unreachable);
        }
        var error = ToError(data.ErrorCode);
        if (error != ReplicaError.None || data.Records is not { IsEmpty: false } records)
        {
            buffer?.Dispose();
            return new ReplicaFetchResponse(error, data.HighWatermark, data.LogStartOffset, -1, ReadOnlyMemory<byte>.Empty);
        }
        return new ReplicaFetchResponse(error, data.HighWatermark, data.LogStartOffset, -1, records, buffer);
    }

    public async ValueTask<EpochEndResponse> EndOffsetForEpochAsync(int leaderId, EpochEndRequest request, CancellationToken cancellationToken)
    {
        var ask = new OffsetForLeaderEpochRequest
        {
            ReplicaId = request.ReplicaId,
            Topics =
            [
                new OffsetForLeaderEpochRequest.OffsetForLeaderTopic
                {
                    Topic = request.Topic,
                    Partitions = [new OffsetForLeaderEpochRequest.OffsetForLeaderPartition
                    {
                        Partition = request.Partition,
                        CurrentLeaderEpoch = request.CurrentLeaderEpoch,
                        LeaderEpoch = request.LeaderEpoch,
                    }],
                },
            ],
        };
        var (response, _) = await SendAsync<OffsetForLeaderEpochResponse>(leaderId, request.Topic, request.Partition, ApiKeys.OffsetForLeaderEpoch,
            EpochVersion, ask, TimeSpan.FromSeconds(10), pooled: false, cancellationToken).ConfigureAwait(false);
        if (response?.Topics is not [{ Partitions: [var end] }]) return new EpochEndResponse(ReplicaError.Unreachable, -1, -1);
        return new EpochEndResponse(ToError(end.ErrorCode), end.LeaderEpoch, end.EndOffset);
    }

    private static ReplicaError ToError(short code) => code switch
    {
        ErrorCodes.None => ReplicaError.None,
        ErrorCodes.UnknownTopicOrPartition => ReplicaError.UnknownPartition,
        ErrorCodes.NotLeaderOrFollower => ReplicaError.NotLeader,
        ErrorCodes.FencedLeaderEpoch => ReplicaError.FencedLeaderEpoch,
        ErrorCodes.UnknownLeaderEpoch => ReplicaError.UnknownLeaderEpoch,
        ErrorCodes.OffsetOutOfRange => ReplicaError.OffsetOutOfRange,
        _ => ReplicaError.Unreachable,
    };

    /// <summary>Sends one request; a null response when the leader cannot be reached or the connection broke (it is dropped).</summary>
    private async Task<(TResponse? Response, PooledBuffer? Buffer)> SendAsync<TResponse>(int leaderId, string topic, int partition, short apiKey,
        short version, IKafkaMessage request, TimeSpan timeout, bool pooled, CancellationToken cancellationToken) where TResponse : class, IKafkaMessage, new()
    {
        if (PeerLink.To(cluster, leaderId) is not { } link) return (null, null);
        var key = (leaderId, topic, partition);
        var connection = _connections.GetOrAdd(key, _ => new KafkaPeerConnection("ferry-replica", credentials));
        try
        {
            if (!pooled) return (await connection.SendAsync<TResponse>(link, apiKey, version, request, timeout, cancellationToken).ConfigureAwait(false), null);
            var answer = await connection.SendPooledAsync<TResponse>(link, apiKey, version, request, timeout, cancellationToken).ConfigureAwait(false);
            return (answer.Response, answer.Buffer);
        }
        catch (Exception e) when (e is IOException or SocketException or TimeoutException or KafkaProtocolException
            or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            if (_connections.TryRemove(new KeyValuePair<(int, string, int), KafkaPeerConnection>(key, connection))) connection.Dispose();
            return (null, null);
        }
    }

    public void Dispose()
    {
        foreach (var connection in _connections.Values) connection.Dispose();
        _connections.Clear();
    }
}
