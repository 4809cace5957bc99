using System.Collections.Concurrent;
using System.Net.Sockets;
using Ferry.Broker.Cluster;
using Ferry.Kafka.Protocol;

namespace Ferry.Peers;

/// <summary>
/// This node's connections to the other nodes' Kafka listeners for the requests one broker sends another (transaction
/// markers, KIP-890 verification), over the <see cref="PeerLink"/> the cluster view gives (address and security
/// protocol), authenticated with <paramref name="credentials"/>. A few connections per node, each one request at a
/// time, so that one slow answer does not hold up the others; a connection that failed is dropped.
/// </summary>
internal sealed class KafkaPeerPool(IClusterView cluster, string clientId, PeerCredentials? credentials) : IDisposable
{
    private readonly ConcurrentDictionary<int, ConcurrentBag<KafkaPeerConnection>> _idle = new();

    /// <summary>The node's answer, or null when the node has no Kafka address or did not answer in time (for the caller to retry).</summary>
    public async Task<TResponse?> TrySendAsync<TResponse>(int nodeId, short apiKey, short version, IKafkaMessage request, TimeSpan timeout,
        CancellationToken cancellationToken) where TResponse : class, IKafkaMessage, new()
    {
        if (PeerLink.To(cluster, nodeId) is not { } link) return null;
        var pool = _idle.GetOrAdd(nodeId, _ => []);
        var connection = pool.TryTake(out var idle) ? idle : new KafkaPeerConnection(clientId, credentials);
        try
        {
            var response = await connection.SendAsync<TResponse>(link, apiKey, version, request, timeout, cancellationToken).ConfigureAwait(false);
            pool.Add(connection);
            return response;
        }
        catch (Exception e) when (e is IOException or SocketException or TimeoutException or KafkaProtocolException
            or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            connection.Dispose();
            return null;
        }
    }

    public void Dispose()
    {
        foreach (var pool in _idle.Values)
        {
            while (pool.TryTake(out var connection)) connection.Dispose();
        }
    }
}
