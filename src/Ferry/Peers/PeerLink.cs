using Ferry.Broker.Cluster;

namespace Ferry.Peers;

/// <summary>
/// How this node reaches a peer's Kafka listener: the address and the security protocol the peer registered with the
/// cluster, so a peer whose listener is SASL_SSL is spoken to over TLS and authenticated with SASL.
/// </summary>
internal sealed record PeerLink(string Host, int Port, string SecurityProtocol)
{
    public bool Tls => SecurityProtocol is "SSL" or "SASL_SSL";

    public bool Sasl => SecurityProtocol is "SASL_PLAINTEXT" or "SASL_SSL";

    /// <summary>The link to node <paramref name="nodeId"/> as the cluster view has it; null while it has no Kafka address.</summary>
    public static PeerLink? To(IClusterView cluster, int nodeId) =>
        cluster.Nodes.FirstOrDefault(n => n.Id == nodeId) is { KafkaHost: { } host } node ? new PeerLink(host, node.KafkaPort, node.KafkaSecurityProtocol) : null;
}
