using System.Net;
using Ferry.Hosting;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ferry.Tests;

/// <summary>
/// The accept gate of the process-wide connection cap, over a transport that has a connection ready at every
/// accept (a flood): the listener stops accepting at the cap plus its margin for refusals, accepts again as soon as
/// a socket is closed, and a pending accept ends when the listener is unbound.
/// </summary>
public sealed class ConnectionCapTests
{
    [Fact]
    public async Task Listener_StopsAcceptingAtTheCapPlusMargin_AndResumesWhenASocketCloses()
    {
        // Cap 8: an eighth more (1) for refused sockets not yet closed, so 9 sockets at most.
        var cap = new ConnectionCap(8, () => NullLogger.Instance);
        var factory = new CappedConnectionListenerFactory(new FloodTransport(), cap);
        await using var listener = await factory.BindAsync(new IPEndPoint(IPAddress.Loopback, 0));

        var held = new List<ConnectionContext>();
        for (int i = 0; i < 9; i++)
            held.Add((await listener.AcceptAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5)))!);

        var tenth = listener.AcceptAsync().AsTask();
        await Task.Delay(200);
        Assert.False(tenth.IsCompleted, "a tenth socket was accepted while nine were held");

        await held[0].DisposeAsync();
        Assert.NotNull(await tenth.WaitAsync(TimeSpan.FromSeconds(5)));

        var eleventh = listener.AcceptAsync().AsTask();
        await listener.UnbindAsync();
        Assert.Null(await eleventh.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    /// <summary>A transport under a flood: every accept finds a connection waiting.</summary>
    private sealed class FloodTransport : IConnectionListenerFactory
    {
        public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<IConnectionListener>(new Listener(endpoint));

        private sealed class Listener(EndPoint endpoint) : IConnectionListener
        {
            private volatile bool _unbound;

            public EndPoint EndPoint => endpoint;

            public ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default) =>
                ValueTask.FromResult<ConnectionContext?>(_unbound ? null : new DefaultConnectionContext());

            public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
            {
                _unbound = true;
                return ValueTask.CompletedTask;
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
