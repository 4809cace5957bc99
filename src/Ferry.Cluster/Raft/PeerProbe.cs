using System.Net;
using System.Net.Sockets;

namespace Ferry.Cluster.Raft;

/// <summary>
/// Tells a dead peer from a slow one: a peer whose listening port refuses connections (TCP reset on connect) has
/// no process listening there, which a busy or paused process never causes (those time out instead). The quorum
/// leader uses it to fence a killed node without waiting out the whole session timeout, which stays the rule for
/// every other kind of silence.
/// </summary>
internal static class PeerProbe
{
    /// <summary>True when a connection to <paramref name="endPoint"/> is refused within <paramref name="timeout"/>; false if it opens or times out.</summary>
    public static async Task<bool> RefusesConnectionsAsync(EndPoint endPoint, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp); // dual mode: IPv4 and IPv6 addresses alike
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await socket.ConnectAsync(endPoint, deadline.Token).ConfigureAwait(false);
            return false;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode == SocketError.ConnectionRefused;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
