using System.Net;
using Ferry.Broker.Cluster;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>
/// The address Metadata gives clients for a node: the one the node registered in the cluster, else (a single node)
/// the configured one, else the listener address the client itself connected to, which is by construction
/// reachable from it.
/// </summary>
internal static class AdvertisedAddress
{
    public static (string Host, int Port) For(KafkaRequestContext context, KafkaOptions options)
    {
        var local = context.LocalEndPoint as IPEndPoint;
        string host = options.AdvertisedHost ?? HostOf(local) ?? "127.0.0.1";
        int port = options.AdvertisedPort ?? local?.Port ?? 9092;
        return (host, port);
    }

    public static (string Host, int Port) Of(ClusterNode node, KafkaRequestContext context, KafkaOptions options) =>
        node.KafkaHost is { } host ? (host, node.KafkaPort) : For(context, options);

    /// <summary>The address of node <paramref name="nodeId"/>, or null if the view has no live node of that id.</summary>
    public static (string Host, int Port)? OfNode(IClusterView cluster, int nodeId, KafkaRequestContext context, KafkaOptions options)
    {
        foreach (var node in cluster.Nodes)
        {
            if (node.Id == nodeId) return node.Alive ? Of(node, context, options) : null;
        }
        return null;
    }

    private static string? HostOf(IPEndPoint? endPoint)
    {
        if (endPoint is null) return null;
        var address = endPoint.Address.IsIPv4MappedToIPv6 ? endPoint.Address.MapToIPv4() : endPoint.Address;
        return address.ToString();
    }
}
