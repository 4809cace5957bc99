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
/// <param name="RecentlyFenced">
/// Fenced so recently that Kafka Metadata still lists it (leading nothing), as a Kafka broker stays listed until its
/// session times out: clients then go on failing to connect to it instead of forgetting it, and librdkafka looks a
/// coordinator it had cached there up again only on such a connection's state changes (it waits for ever on a
/// coordinator whose broker left the metadata: librdkafka issue 5511).
/// </param>
public sealed record ClusterNode(int Id, string? KafkaHost, int KafkaPort, bool Alive, string KafkaSecurityProtocol = ClusterNode.Plaintext,
    bool RecentlyFenced = false)
{
    public const string Plaintext = "PLAINTEXT";
}
