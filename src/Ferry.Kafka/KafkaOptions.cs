using System.ComponentModel.DataAnnotations;

namespace Ferry.Kafka;

/// <summary>Kafka protocol settings (configuration section <c>Kafka</c>).</summary>
public sealed class KafkaOptions
{
    /// <summary>
    /// Host that Metadata advertises. Unset (the default): the address the client used to reach the listener,
    /// so that a client on loopback is told 127.0.0.1 and one across a network the address it dialled.
    /// </summary>
    public string? AdvertisedHost { get; set; }

    /// <summary>Port that Metadata advertises; unset: the listener's port the client connected to.</summary>
    [Range(0, 65535)]
    public int? AdvertisedPort { get; set; }

    /// <summary>Create a topic when a client first produces to it or asks for its metadata (default true, as Kafka).</summary>
    public bool AutoCreateTopics { get; set; } = true;

    /// <summary>Partitions of an auto-created topic, and of CreateTopics asking for the default (-1). Default 1.</summary>
    [Range(1, 10_000)]
    public int DefaultPartitions { get; set; } = 1;

    /// <summary>Largest request accepted, bytes (default 100 MiB, as Kafka's socket.request.max.bytes).</summary>
    [Range(1024, int.MaxValue)]
    public int MaxRequestBytes { get; set; } = 100 * 1024 * 1024;

    /// <summary>
    /// Largest request accepted on a SASL listener before the client has authenticated, bytes (default 512 KiB, Kafka's
    /// sasl.server.max.receive.size): a stranger cannot make Ferry buffer a 100 MiB request.
    /// </summary>
    [Range(1024, int.MaxValue)]
    public int MaxRequestBytesBeforeAuthentication { get; set; } = 512 * 1024;

    /// <summary>Longest a client on a SASL listener may take to authenticate after connecting (default 10 s); then it is closed.</summary>
    public TimeSpan AuthenticationTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>This node's id in Metadata (default 1).</summary>
    [Range(0, int.MaxValue)]
    public int NodeId { get; set; } = 1;

    /// <summary>The cluster id in Metadata and DescribeCluster.</summary>
    [Required]
    public string ClusterId { get; set; } = "ferry-cluster-0000000000";

    /// <summary>Requests one connection may have in progress before Ferry stops reading its socket.</summary>
    [Range(1, 100_000)]
    public int MaxInFlightPerConnection { get; set; } = 1000;
}
