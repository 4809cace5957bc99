namespace Ferry.Broker.Cluster;

/// <summary>
/// One broker of the cluster as clients and peers see it: its id, the Kafka address it advertises, and whether
/// the controller currently holds it alive (its lease has not run out).
/// </summary>
/// <param name="KafkaHost">Null on a single node: advertise the address the client itself dialled.</param>
public sealed record ClusterNode(int Id, string? KafkaHost, int KafkaPort, bool Alive);
