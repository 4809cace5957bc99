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
        Check("Kafka", listeners.Kafka, "Listeners:Kafka");
        Check("AMQP", listeners.Amqp, "Listeners:Amqp");
        Check("HTTP", listeners.Http, "Listeners:Http");
    }

    private static void Check(string name, string address, string setting)
    {
        var endPoint = EndPointParser.Parse(address, setting);
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
            throw new IOException($"{name} listener {address}: {why}", ex);
        }
    }
}
