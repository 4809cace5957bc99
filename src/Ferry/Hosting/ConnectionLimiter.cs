using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Connections;

namespace Ferry.Hosting;

/// <summary>
/// At most N open connections per client address on one kind of port: Kestrel connection middleware ahead of TLS
/// and the protocol, so a single host cannot hold every socket or make Ferry run thousands of handshakes. A
/// connection over the limit is closed at once, with a log line.
/// </summary>
internal sealed partial class ConnectionLimiter(string kind, int limit, Func<ILogger> logger)
{
    private readonly ConcurrentDictionary<IPAddress, int> _open = new();

    public void Use(Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions listener) => listener.Use(next => async connection =>
    {
        if (connection.RemoteEndPoint is not IPEndPoint { Address: var address })
        {
            await next(connection).ConfigureAwait(false);
            return;
        }
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (_open.AddOrUpdate(address, 1, (_, n) => n + 1) > limit)
        {
            Release(address);
            TooManyConnections(logger(), kind, address.ToString(), limit);
            connection.Abort(new ConnectionAbortedException("Too many connections from one address"));
            return;
        }
        try
        {
            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            Release(address);
        }
    });

    private void Release(IPAddress address)
    {
        while (true)
        {
            int n = _open[address];
            if (n == 1 ? _open.TryRemove(new KeyValuePair<IPAddress, int>(address, 1)) : _open.TryUpdate(address, n - 1, n)) return;
        }
    }

    [LoggerMessage(EventId = 1201, Level = LogLevel.Warning, Message = "Refused a {Kind} connection from {Address}: it already has {Limit} open (Security:MaxConnectionsPerAddress)")]
    private static partial void TooManyConnections(ILogger logger, string kind, string address, int limit);
}
