using System.Net;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>
/// The address Metadata gives clients for this node: the configured one, else the listener address the
/// client itself connected to, which is by construction reachable from it.
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

    private static string? HostOf(IPEndPoint? endPoint)
    {
        if (endPoint is null) return null;
        var address = endPoint.Address.IsIPv4MappedToIPv6 ? endPoint.Address.MapToIPv4() : endPoint.Address;
        return address.ToString();
    }
}
