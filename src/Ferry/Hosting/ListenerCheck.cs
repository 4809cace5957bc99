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
    public static void ThrowIfUnavailable(ListenerOptions listeners)
    {
        var set = Listeners.Parse(listeners);
        foreach (var kafka in set.Kafka) Check("Kafka", kafka.EndPoint);
        foreach (var amqp in set.Amqp) Check("AMQP", amqp.EndPoint);
        foreach (var http in set.Http) Check("HTTP", http.EndPoint);
    }

    private static void Check(string name, System.Net.IPEndPoint endPoint)
    {
        if (endPoint.Port == 0) return; // any free port: nothing to collide with
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
            throw new IOException($"{name} listener {endPoint}: {why}", ex);
        }
    }
}
