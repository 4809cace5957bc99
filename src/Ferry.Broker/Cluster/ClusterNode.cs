namespace Ferry.Broker.Cluster;

/// <summary>
/// One broker of the cluster as clients and peers see it: its id, the Kafka address it advertises, and whether
/// the controller currently holds it alive (its lease has not run out).
/// </summary>
/// <param name="KafkaHost">Null on a single node: advertise the address the client itself dialled.</param>
/// <param name="KafkaSecurityProtocol">
/// The security protocol of that Kafka listener as Kafka names it (<c>PLAINTEXT</c>, <c>SSL</c>, <c>SASL_PLAINTEXT</c>,
/// <c>SASL_SSL</c>): how peers must speak to it (TLS, SASL).
/// </param>
public sealed record ClusterNode(int Id, string? KafkaHost, int KafkaPort, bool Alive, string KafkaSecurityProtocol = ClusterNode.Plaintext)
{
    public const string Plaintext = "PLAINTEXT";
}
