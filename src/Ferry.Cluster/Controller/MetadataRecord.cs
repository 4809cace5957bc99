using System.Text.Json;
using System.Text.Json.Serialization;
using Ferry.Broker.Security;
using Ferry.Broker.Security.Acls;

namespace Ferry.Cluster.Controller;

public enum MetadataRecordType
{
    /// <summary>A node (re)joined: its addresses; it is alive (unfenced) from this record on.</summary>
    RegisterNode,
    /// <summary>The controller lost a node (its lease ran out): it leads and counts for nothing until it registers again.</summary>
    FenceNode,
    CreateTopic,
    DeleteTopic,
    CreatePartitions,
    AlterConfigs,
    /// <summary>A partition's leader, leader epoch, ISR or partition epoch changed (election, AlterPartition, rebalance).</summary>
    PartitionChange,
    /// <summary>Producer ids below <see cref="MetadataRecord.ProducerIdEnd"/> are taken.</summary>
    ProducerIds,
    /// <summary>
    /// Several records in one log entry, applied in order as one commit (KRaft writes a fencing and the elections it
    /// causes in one batch too): no node answers in between with a fenced leader and no successor.
    /// </summary>
    Batch,

    // Users, Kafka ACLs, vhosts and AMQP permissions (KRaft's UserScramCredentialRecord, AccessControlEntryRecord...): see SecurityImage.

    /// <summary>Adds or replaces user <see cref="MetadataRecord.UserName"/>: its tags and SCRAM credentials (never a password).</summary>
    PutUser,
    DeleteUser,
    /// <summary>Adds <see cref="MetadataRecord.Acls"/> (the controller sends only those not there yet).</summary>
    AddAcls,
    /// <summary>Removes exactly <see cref="MetadataRecord.Acls"/> (the controller resolved the filters to bindings).</summary>
    RemoveAcls,
    PutVhost,
    /// <summary>Removes vhost <see cref="MetadataRecord.Vhost"/> and every permission in it.</summary>
    DeleteVhost,
    /// <summary>Sets <see cref="MetadataRecord.UserName"/>'s permissions in <see cref="MetadataRecord.Vhost"/>.</summary>
    PutPermission,
    DeletePermission,
}

/// <summary>
/// One entry of the metadata log (KRaft's records): what changed, decided by the controller and applied by every
/// node in the same order to the same <see cref="MetadataImage"/>. Flat, so that one JSON shape carries every type.
/// </summary>
public sealed class MetadataRecord
{
    public MetadataRecordType Type { get; set; }

    public int NodeId { get; set; }
    public string? KafkaHost { get; set; }
    public int KafkaPort { get; set; }
    /// <summary>Absent in records written before nodes registered it: those listeners were PLAINTEXT.</summary>
    public string? KafkaSecurityProtocol { get; set; }
    public string? HttpEndPoint { get; set; }

    public string? Topic { get; set; }
    public Guid TopicId { get; set; }
    /// <summary>Replicas per partition (CreateTopic: all of them; CreatePartitions: the new ones).</summary>
    public List<List<int>>? Assignments { get; set; }
    public Dictionary<string, string>? Configs { get; set; }

    public int Partition { get; set; }
    public int Leader { get; set; }
    public int LeaderEpoch { get; set; }
    public List<int>? Isr { get; set; }
    public int PartitionEpoch { get; set; }
    /// <summary>
    /// PartitionChange of a reassignment (KIP-455): the new replica set and the adding and removing replicas (empty:
    /// none runs). Null: the replicas are unchanged.
    /// </summary>
    public List<int>? Replicas { get; set; }
    public List<int>? AddingReplicas { get; set; }
    public List<int>? RemovingReplicas { get; set; }

    public long ProducerIdEnd { get; set; }

    public string? UserName { get; set; }
    public List<string>? Tags { get; set; }
    public List<ScramCredential>? Credentials { get; set; }
    public List<AclBinding>? Acls { get; set; }
    public string? Vhost { get; set; }
    /// <summary>A permission's three regular expressions (RabbitMQ's configure, write, read).</summary>
    public string? Configure { get; set; }
    public string? Write { get; set; }
    public string? Read { get; set; }

    /// <summary>The records of a <see cref="MetadataRecordType.Batch"/>, in order.</summary>
    public List<MetadataRecord>? Records { get; set; }

    /// <summary>The records as one entry: a batch of them, or the record itself when there is one.</summary>
    public static MetadataRecord Of(List<MetadataRecord> records) =>
        records.Count == 1 ? records[0] : new MetadataRecord { Type = MetadataRecordType.Batch, Records = records };

    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, MetadataJsonContext.Default.MetadataRecord);

    public static MetadataRecord Deserialize(ReadOnlySpan<byte> bytes) =>
        JsonSerializer.Deserialize(bytes, MetadataJsonContext.Default.MetadataRecord) ?? throw new InvalidDataException("Empty metadata record.");
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(MetadataRecord))]
[JsonSerializable(typeof(MetadataImage.Snapshot))]
internal sealed partial class MetadataJsonContext : JsonSerializerContext;
