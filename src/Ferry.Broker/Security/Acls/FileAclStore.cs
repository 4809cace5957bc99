using System.Text.Json;
using System.Text.Json.Serialization;
using Ferry.Broker.Metadata;

namespace Ferry.Broker.Security.Acls;

/// <summary>
/// The ACLs in <c>security/acls.json</c> under the data directory, rewritten atomically (<see cref="DurableFile"/>) on
/// every change; readers see an immutable snapshot.
/// </summary>
public sealed class FileAclStore : IAclStore
{
    private readonly string _path;
    private readonly Lock _writing = new();
    // Never changed once published: a change publishes a new array.
    private volatile AclBinding[] _all = [];
    private long _version;

    public FileAclStore(string dataDirectory)
    {
        _path = Path.Combine(dataDirectory, "security", "acls.json");
        if (DurableFile.ReadAllBytes(_path) is { } content)
        {
            var file = JsonSerializer.Deserialize(content, AclsJsonContext.Default.AclsFile) ?? throw new InvalidDataException($"{_path} is empty.");
            _all = [.. file.Acls.Select(a => new AclBinding(a.ResourceType, a.ResourceName, a.PatternType, a.Principal, a.Host, a.Operation, a.Permission))];
        }
    }

    public IReadOnlyList<AclBinding> All => _all;

    public long Version => Interlocked.Read(ref _version);

    public ValueTask AddAsync(IReadOnlyList<AclBinding> bindings, CancellationToken cancellationToken = default)
    {
        Add(bindings);
        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlyList<IReadOnlyList<AclBinding>>> RemoveAsync(IReadOnlyList<AclFilter> filters, CancellationToken cancellationToken = default) =>
        new(Remove(filters));

    public void Add(IReadOnlyList<AclBinding> bindings)
    {
        lock (_writing)
        {
            var all = _all;
            var added = new List<AclBinding>(all);
            foreach (var binding in bindings)
                if (!added.Contains(binding)) added.Add(binding);
            if (added.Count != all.Length) Save([.. added]);
        }
    }

    public IReadOnlyList<IReadOnlyList<AclBinding>> Remove(IReadOnlyList<AclFilter> filters)
    {
        lock (_writing)
        {
            var all = _all;
            var removed = new List<IReadOnlyList<AclBinding>>(filters.Count);
            var left = new List<AclBinding>(all);
            foreach (var filter in filters)
            {
                var matched = all.Where(filter.Matches).ToArray();
                removed.Add(matched);
                left.RemoveAll(filter.Matches);
            }
            if (left.Count != all.Length) Save([.. left]);
            return removed;
        }
    }

    private void Save(AclBinding[] all)
    {
        var file = new AclsFile
        {
            Acls = [.. all.Select(a => new AclEntry
            {
                ResourceType = a.ResourceType, ResourceName = a.ResourceName, PatternType = a.PatternType,
                Principal = a.Principal, Host = a.Host, Operation = a.Operation, Permission = a.Permission,
            })],
        };
        DurableFile.WriteAllBytes(_path, JsonSerializer.SerializeToUtf8Bytes(file, AclsJsonContext.Default.AclsFile));
        _all = all;
        Interlocked.Increment(ref _version);
    }
}

internal sealed class AclsFile
{
    public List<AclEntry> Acls { get; set; } = [];
}

internal sealed class AclEntry
{
    public AclResourceType ResourceType { get; set; }
    public string ResourceName { get; set; } = "";
    public AclPatternType PatternType { get; set; }
    public string Principal { get; set; } = "";
    public string Host { get; set; } = "*";
    public AclOperation Operation { get; set; }
    public AclPermission Permission { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, UseStringEnumConverter = true)]
[JsonSerializable(typeof(AclsFile))]
internal sealed partial class AclsJsonContext : JsonSerializerContext;
