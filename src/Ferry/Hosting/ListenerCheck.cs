using System.Net.Sockets;
using Ferry.Configuration;

namespace Ferry.Hosting;

/// <summary>
/// Binds each listener's address once, and lets it go, before the host starts: a port in use is then reported as
/// the listener it belongs to ("Kafka listener 127.0.0.1:9092: address in use"). Kestrel's own failure names every
/// listener http:// and comes after the host has logged it with a stack trace.
/// </summary>
internal static class ListenerCheck
{
    public static void ThrowIfUnavailable(ListenerOptions options)
    {
        var listeners = Listeners.Parse(options);
        foreach (var listener in listeners.Kafka) Check("Kafka", listener, ListenerAddress.KafkaSchemes[0]);
        foreach (var listener in listeners.Amqp) Check("AMQP", listener, ListenerAddress.AmqpSchemes[0]);
        foreach (var listener in listeners.Http) Check("HTTP", listener, ListenerAddress.HttpSchemes[0]);
    }

    private static void Check(string kind, ListenerAddress listener, string plainScheme)
    {
        var endPoint = listener.EndPoint;
        if (endPoint.Port == 0) return; // any free port: nothing to collide with
        // Named as it was most likely written: a bare HOST:PORT for the unencrypted scheme.
        string name = listener.Scheme == plainScheme ? endPoint.ToString() : listener.ToString();
        using var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(endPoint);
        }
        catch (SocketException ex)
        {
            string why = ex.SocketErrorCode switch
            {
                SocketError.AddressAlreadyInUse => "address in use",
                SocketError.AccessDenied => "permission denied (ports below 1024 need privileges)",
                SocketError.AddressNotAvailable => "no such address on this machine",
                _ => ex.Message,
            };
            throw new IOException($"{kind} listener {name}: {why}", ex);
        }
    }
}
