using System.Collections.Immutable;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Ferry.Broker.Metadata;
using Ferry.Broker.Queues;

namespace Ferry.Broker.VirtualHosts;

/// <summary>
/// RabbitMQ's virtual hosts: each one its own <see cref="QueueBroker"/> (exchanges, queues, bindings, their durable
/// definitions and logs) in its own directory, so nothing is shared between them but the process. The default vhost
/// <c>/</c> lives where the AMQP data always has (<c>DATA/amqp</c>); another lives in <c>DATA/amqp/vhosts/HEX</c> (its
/// name's UTF-8 bytes in hex: any name is a safe directory name), and the list of them in <c>DATA/amqp/vhosts.json</c>.
/// </summary>
/// <remarks>
/// A connection looks its vhost up once, at connection.open; from then on it holds the broker, so the publish and
/// deliver paths never pass through here.
/// </remarks>
public sealed class VirtualHostRegistry : IAsyncDisposable
{
    public const string Default = "/";

    private readonly string _root;
    private readonly Func<string, string, QueueBroker> _create;
    private readonly Lock _writing = new();
    private volatile ImmutableDictionary<string, QueueBroker> _hosts;

    /// <param name="defaultHost">The broker of <c>/</c>.</param>
    /// <param name="root">The AMQP data directory (that of <c>/</c>).</param>
    /// <param name="create">Makes the (not yet loaded) broker of a vhost from its name and data directory.</param>
    public VirtualHostRegistry(QueueBroker defaultHost, string root, Func<string, string, QueueBroker> create)
    {
        _root = root;
        _create = create;
        DefaultHost = defaultHost;
        _hosts = ImmutableDictionary.Create<string, QueueBroker>(StringComparer.Ordinal).Add(Default, defaultHost);
    }

    public QueueBroker DefaultHost { get; }

    public IReadOnlyList<string> Names => [.. _hosts.Keys.Order(StringComparer.Ordinal)];

    private string ListPath => Path.Combine(_root, "vhosts.json");

    public static bool IsValidName(string name) => name.Length is > 0 and <= 255;

    public bool TryGet(string name, out QueueBroker broker) => _hosts.TryGetValue(name, out broker!);

    /// <summary>Loads <c>/</c> and every vhost in the list (before any connection is served).</summary>
    public void Load()
    {
        DefaultHost.Load();
        DefaultHost.StartQuorumQueues();
        if (DurableFile.ReadAllBytes(ListPath) is not { } content) return;
        var file = JsonSerializer.Deserialize(content, VirtualHostsJsonContext.Default.VirtualHostsFile) ?? new VirtualHostsFile();
        lock (_writing)
        {
            var hosts = _hosts;
            foreach (string name in file.Names)
            {
                if (hosts.ContainsKey(name)) continue;
                var broker = _create(name, DirectoryOf(name));
                broker.Load();
                broker.StartQuorumQueues();
                hosts = hosts.Add(name, broker);
            }
            _hosts = hosts;
        }
    }

    /// <summary>Creates a vhost, durably; false if it exists.</summary>
    public bool Add(string name)
    {
        if (!IsValidName(name)) throw new ArgumentException("A vhost name is 1 to 255 characters.", nameof(name));
        lock (_writing)
        {
            if (_hosts.ContainsKey(name)) return false;
            var broker = _create(name, DirectoryOf(name));
            broker.Load();
            broker.StartQuorumQueues();
            Save(_hosts.Add(name, broker));
            return true;
        }
    }

    /// <summary>
    /// Deletes a vhost with everything in it (as RabbitMQ's delete_vhost); false if there is none. <c>/</c> stays: the
    /// contract promises it.
    /// </summary>
    public async Task<bool> DeleteAsync(string name)
    {
        QueueBroker? broker;
        lock (_writing)
        {
            if (name == Default || !_hosts.TryGetValue(name, out broker)) return false;
            Save(_hosts.Remove(name));
        }
        await broker.DisposeAsync().ConfigureAwait(false);
        try
        {
            Directory.Delete(DirectoryOf(name), recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Never had a durable entity.
        }
        return true;
    }

    private string DirectoryOf(string name) => Path.Combine(_root, "vhosts", Convert.ToHexString(Encoding.UTF8.GetBytes(name)));

    private void Save(ImmutableDictionary<string, QueueBroker> hosts)
    {
        var file = new VirtualHostsFile { Names = [.. hosts.Keys.Where(n => n != Default).Order(StringComparer.Ordinal)] };
        DurableFile.WriteAllBytes(ListPath, JsonSerializer.SerializeToUtf8Bytes(file, VirtualHostsJsonContext.Default.VirtualHostsFile));
        _hosts = hosts;
    }

    /// <summary>Closes every vhost's broker but <c>/</c> (whose owner closes it).</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var (name, broker) in _hosts)
            if (name != Default) await broker.DisposeAsync().ConfigureAwait(false);
    }
}

internal sealed class VirtualHostsFile
{
    public List<string> Names { get; set; } = [];
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(VirtualHostsFile))]
internal sealed partial class VirtualHostsJsonContext : JsonSerializerContext;
