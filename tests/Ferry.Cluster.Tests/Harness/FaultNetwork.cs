using System.Net;
using System.Net.Sockets;

namespace Ferry.Cluster.Tests.Harness;

/// <summary>What happens to the connections one node opens to another.</summary>
public enum LinkFault
{
    None,

    /// <summary>Open connections are reset and new ones are closed as soon as they are accepted.</summary>
    Cut,

    /// <summary>Connections are accepted and kept, but every byte either way is dropped: the peer sees only silence.</summary>
    Blackhole,
}

/// <summary>
/// The network between the nodes of a test cluster, on loopback: every port a node is reached at by its peers
/// (inter-node Raft, Kafka for replica fetches, HTTP for forwarded controller requests) is a proxy in the test
/// process in front of the node's real listener, and the node advertises the proxy. A fault is set per directed
/// link (the connections node A opens to node B, both byte directions of them); node id 0 stands for the test's own
/// clients, which are never faulted unless a test says so (to pin a producer to one side of a partition).
/// </summary>
public sealed class FaultNetwork : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(int From, int To), LinkFault> _faults = [];
    private readonly List<Proxy> _proxies = [];
    private readonly List<Connection> _connections = [];
    private readonly Func<IEnumerable<(int NodeId, int Pid)>> _processes;
    private readonly List<string> _events = [];

    /// <param name="processes">The running nodes' process ids, to tell which node opened a connection.</param>
    public FaultNetwork(Func<IEnumerable<(int NodeId, int Pid)>> processes) => _processes = processes;

    /// <summary>
    /// Starts a proxy on a free loopback port forwarding to <paramref name="upstreamPort"/>, the real listener of node
    /// <paramref name="nodeId"/>; returns its port, never one of <paramref name="avoid"/> (ports chosen for nodes that
    /// have not bound them yet).
    /// </summary>
    public int AddProxy(int nodeId, int upstreamPort, IReadOnlyCollection<int> avoid)
    {
        var rejected = new List<TcpListener>();
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start(backlog: 64);
        while (avoid.Contains(((IPEndPoint)listener.LocalEndpoint).Port))
        {
            rejected.Add(listener);
            listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start(backlog: 64);
        }
        foreach (var taken in rejected) taken.Stop();
        var proxy = new Proxy(this, nodeId, upstreamPort, listener);
        lock (_lock) _proxies.Add(proxy);
        proxy.Run();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The last connections and fault changes, for a failing test's message.</summary>
    public string Events()
    {
        lock (_lock) return string.Join('\n', _events.TakeLast(60));
    }

    private void Event(string what)
    {
        lock (_lock)
        {
            _events.Add($"{DateTime.UtcNow:HH:mm:ss.fff} {what}");
            if (_events.Count > 1000) _events.RemoveRange(0, 500);
        }
    }

    private bool HasFaultsTo(int nodeId)
    {
        lock (_lock) return _faults.Keys.Any(k => k.To == nodeId);
    }

    public LinkFault FaultOf(int from, int to)
    {
        lock (_lock) return _faults.GetValueOrDefault((from, to));
    }

    public void Cut(int from, int to) => Set(from, to, LinkFault.Cut);

    public void Blackhole(int from, int to) => Set(from, to, LinkFault.Blackhole);

    public void Heal(int from, int to) => Set(from, to, LinkFault.None);

    /// <summary>Faults every link between <paramref name="nodeId"/> and each of <paramref name="others"/>, both ways.</summary>
    public void Isolate(int nodeId, IEnumerable<int> others, LinkFault fault = LinkFault.Cut)
    {
        foreach (int other in others.Where(o => o != nodeId))
        {
            Set(nodeId, other, fault);
            Set(other, nodeId, fault);
        }
    }

    public void HealAll()
    {
        List<(int, int)> links;
        lock (_lock) links = [.. _faults.Keys];
        foreach (var (from, to) in links) Heal(from, to);
    }

    /// <summary>
    /// Sets a link's fault. Cutting resets its open connections; healing a blackholed link resets them too, since
    /// bytes were dropped from the middle of their streams: the endpoints reconnect, as after a real outage.
    /// </summary>
    private void Set(int from, int to, LinkFault fault)
    {
        List<Connection> reset;
        lock (_lock)
        {
            var previous = _faults.GetValueOrDefault((from, to));
            if (fault == LinkFault.None) _faults.Remove((from, to));
            else _faults[(from, to)] = fault;
            bool resets = fault == LinkFault.Cut || (fault == LinkFault.None && previous == LinkFault.Blackhole);
            reset = resets ? _connections.Where(c => c.From == from && c.To == to).ToList() : [];
        }
        Event($"link {from}->{to}: {fault}, {reset.Count} connections reset");
        foreach (var connection in reset) connection.Reset();
    }

    /// <summary>The node that dialled, 0 for the test process itself, or <see cref="Connection.Unknown"/> (gone already: no fault applies).</summary>
    private int SourceOf(int sourcePort, int proxyPort)
    {
        List<(int NodeId, int Pid)> processes = [(0, Environment.ProcessId), .. _processes()];
        return SocketOwners.Find(sourcePort, proxyPort, processes.Select(p => p.Pid)) is { } pid
            ? processes.First(p => p.Pid == pid).NodeId
            : Connection.Unknown;
    }

    public async ValueTask DisposeAsync()
    {
        List<Proxy> proxies;
        List<Connection> connections;
        lock (_lock)
        {
            proxies = [.. _proxies];
            connections = [.. _connections];
        }
        foreach (var proxy in proxies) await proxy.StopAsync();
        foreach (var connection in connections) connection.Reset();
    }

    private sealed class Proxy(FaultNetwork network, int nodeId, int upstreamPort, TcpListener listener)
    {
        private readonly CancellationTokenSource _stop = new();
        private Task _accepting = Task.CompletedTask;

        public void Run() => _accepting = AcceptAsync();

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                Socket accepted;
                try
                {
                    accepted = await listener.AcceptSocketAsync(_stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }
                _ = Task.Run(() => ServeAsync(accepted));
            }
        }

        private async Task ServeAsync(Socket accepted)
        {
            // Who dialled is looked up in /proc, which takes a while on a loaded machine: before forwarding only
            // when a fault concerns this node (a cut link must not pass a byte), else beside the forwarding.
            int sourcePort = ((IPEndPoint)accepted.RemoteEndPoint!).Port;
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            int from = Connection.Unknown;
            if (network.HasFaultsTo(nodeId))
            {
                from = network.SourceOf(sourcePort, port);
                var fault = network.FaultOf(from, nodeId);
                network.Event($"{from}->{nodeId} :{port}: {fault}");
                if (fault == LinkFault.Cut)
                {
                    Connection.Abort(accepted);
                    return;
                }
            }
            var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await upstream.ConnectAsync(new IPEndPoint(IPAddress.Loopback, upstreamPort), _stop.Token);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                // The node is down: the dialler sees its connection closed, as with a refused connect.
                Connection.Abort(accepted);
                upstream.Dispose();
                return;
            }
            accepted.NoDelay = true;
            var connection = new Connection(from, nodeId, accepted, upstream);
            lock (network._lock) network._connections.Add(connection);
            if (from == Connection.Unknown) _ = Task.Run(() => connection.From = network.SourceOf(sourcePort, port));
            try
            {
                await Task.WhenAll(PumpAsync(connection, accepted, upstream), PumpAsync(connection, upstream, accepted));
            }
            finally
            {
                connection.Reset();
                lock (network._lock) network._connections.Remove(connection);
            }
        }

        /// <summary>Copies one direction; drops what a blackhole swallows; ends (resetting both sides) on close or cut.</summary>
        private async Task PumpAsync(Connection connection, Socket source, Socket destination)
        {
            var buffer = new byte[64 * 1024];
            try
            {
                while (true)
                {
                    int read = await source.ReceiveAsync(buffer, SocketFlags.None);
                    if (read == 0) break;
                    var fault = network.FaultOf(connection.From, connection.To);
                    if (fault == LinkFault.Cut) break;
                    if (fault == LinkFault.Blackhole) continue;
                    await destination.SendAsync(buffer.AsMemory(0, read), SocketFlags.None);
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // The other side went away.
            }
            connection.Reset();
        }

        public async Task StopAsync()
        {
            await _stop.CancelAsync();
            listener.Stop();
            await _accepting;
            _stop.Dispose();
        }
    }

    private sealed class Connection(int from, int to, Socket downstream, Socket upstream)
    {
        /// <summary>Not looked up yet: no fault applies (none concerned its node when it was accepted).</summary>
        public const int Unknown = -1;

        private int _reset;
        private volatile int _from = from;

        public int From
        {
            get => _from;
            set => _from = value;
        }

        public int To => to;

        /// <summary>Closes both sockets with a reset (linger 0), as a broken link does.</summary>
        public void Reset()
        {
            if (Interlocked.Exchange(ref _reset, 1) != 0) return;
            Abort(downstream);
            Abort(upstream);
        }

        public static void Abort(Socket socket)
        {
            try
            {
                socket.LingerState = new LingerOption(true, 0);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Already closed.
            }
            socket.Dispose();
        }
    }
}
