using System.Net;
using Microsoft.AspNetCore.Connections;

namespace Ferry.Hosting;

/// <summary>
/// Kestrel's socket transport with an accept gate: a listener accepts only while the process holds fewer sockets
/// than <see cref="ConnectionCap"/> allows, so a flood waits in the kernel's listen backlog instead of taking the
/// process to its open-file limit. Every listener of every kind shares the one cap.
/// </summary>
internal sealed class CappedConnectionListenerFactory(IConnectionListenerFactory transport, ConnectionCap cap)
    : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    public async ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default) =>
        new Listener(await transport.BindAsync(endpoint, cancellationToken).ConfigureAwait(false), cap);

    public bool CanBind(EndPoint endpoint) => transport is not IConnectionListenerFactorySelector selector || selector.CanBind(endpoint);

    private sealed class Listener(IConnectionListener inner, ConnectionCap cap) : IConnectionListener
    {
        private readonly CancellationTokenSource _unbound = new();

        public EndPoint EndPoint => inner.EndPoint;

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
        {
            bool slot;
            using (var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _unbound.Token))
            {
                try
                {
                    slot = await cap.WaitForSocketSlotAsync(wait.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (_unbound.IsCancellationRequested)
                {
                    return null;
                }
            }
            ConnectionContext? connection;
            try
            {
                connection = await inner.AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                if (slot) cap.SocketClosed();
                throw;
            }
            if (connection is null)
            {
                if (slot) cap.SocketClosed();
                return null;
            }
            if (!slot) slot = cap.SocketAccepted();
            return slot ? new SlotConnection(connection, cap) : connection;
        }

        public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
        {
            _unbound.Cancel();
            return inner.UnbindAsync(cancellationToken);
        }

        public ValueTask DisposeAsync()
        {
            _unbound.Dispose();
            return inner.DisposeAsync();
        }
    }

    /// <summary>An accepted socket that gives its slot back once the transport has closed it.</summary>
    private sealed class SlotConnection(ConnectionContext inner, ConnectionCap cap) : ConnectionContext
    {
        private int _released;

        public override string ConnectionId { get => inner.ConnectionId; set => inner.ConnectionId = value; }
        public override Microsoft.AspNetCore.Http.Features.IFeatureCollection Features => inner.Features;
        public override IDictionary<object, object?> Items { get => inner.Items; set => inner.Items = value; }
        public override System.IO.Pipelines.IDuplexPipe Transport { get => inner.Transport; set => inner.Transport = value; }
        public override CancellationToken ConnectionClosed { get => inner.ConnectionClosed; set => inner.ConnectionClosed = value; }
        public override EndPoint? LocalEndPoint { get => inner.LocalEndPoint; set => inner.LocalEndPoint = value; }
        public override EndPoint? RemoteEndPoint { get => inner.RemoteEndPoint; set => inner.RemoteEndPoint = value; }

        public override void Abort(ConnectionAbortedException abortReason) => inner.Abort(abortReason);

        public override async ValueTask DisposeAsync()
        {
            try
            {
                await inner.DisposeAsync().ConfigureAwait(false);
            }
            finally
            {
                if (Interlocked.Exchange(ref _released, 1) == 0) cap.SocketClosed();
                await base.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
