using Ferry.Broker.Connections;
using Ferry.Kafka.Handlers;
using Ferry.Kafka.Server;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Ferry.Kafka;

public static class KafkaServiceCollectionExtensions
{
    /// <summary>Registers the Kafka handlers and the connection handler; the host binds the listener.</summary>
    public static IServiceCollection AddFerryKafka(this IServiceCollection services)
    {
        // Listed, not discovered by reflection: the published binary is compiled ahead of time and trimmed, and a
        // test checks that every handler type in the assembly is here.
        services.AddSingleton<IKafkaHandler, AddOffsetsToTxnHandler>();
        services.AddSingleton<IKafkaHandler, AddPartitionsToTxnHandler>();
        services.AddSingleton<IKafkaHandler, AlterConfigsHandler>();
        services.AddSingleton<IKafkaHandler, EndTxnHandler>();
        services.AddSingleton<IKafkaHandler, TxnOffsetCommitHandler>();
        services.AddSingleton<IKafkaHandler, WriteTxnMarkersHandler>();
        services.AddSingleton<IKafkaHandler, ApiVersionsHandler>();
        services.AddSingleton<IKafkaHandler, CreateAclsHandler>();
        services.AddSingleton<IKafkaHandler, CreatePartitionsHandler>();
        services.AddSingleton<IKafkaHandler, AlterPartitionReassignmentsHandler>();
        services.AddSingleton<IKafkaHandler, ListPartitionReassignmentsHandler>();
        services.AddSingleton<IKafkaHandler, CreateTopicsHandler>();
        services.AddSingleton<IKafkaHandler, DeleteAclsHandler>();
        services.AddSingleton<IKafkaHandler, DeleteGroupsHandler>();
        services.AddSingleton<IKafkaHandler, DeleteRecordsHandler>();
        services.AddSingleton<IKafkaHandler, DeleteTopicsHandler>();
        services.AddSingleton<IKafkaHandler, DescribeAclsHandler>();
        services.AddSingleton<IKafkaHandler, DescribeClusterHandler>();
        services.AddSingleton<IKafkaHandler, DescribeConfigsHandler>();
        services.AddSingleton<IKafkaHandler, DescribeGroupsHandler>();
        services.AddSingleton<IKafkaHandler, DescribeProducersHandler>();
        services.AddSingleton<IKafkaHandler, DescribeTransactionsHandler>();
        services.AddSingleton<IKafkaHandler, ListTransactionsHandler>();
        services.AddSingleton<IKafkaHandler, FetchHandler>();
        services.AddSingleton<IKafkaHandler, FindCoordinatorHandler>();
        services.AddSingleton<IKafkaHandler, HeartbeatHandler>();
        services.AddSingleton<IKafkaHandler, IncrementalAlterConfigsHandler>();
        services.AddSingleton<IKafkaHandler, InitProducerIdHandler>();
        services.AddSingleton<IKafkaHandler, JoinGroupHandler>();
        services.AddSingleton<IKafkaHandler, LeaveGroupHandler>();
        services.AddSingleton<IKafkaHandler, ListGroupsHandler>();
        services.AddSingleton<IKafkaHandler, ListOffsetsHandler>();
        services.AddSingleton<IKafkaHandler, MetadataHandler>();
        services.AddSingleton<IKafkaHandler, OffsetCommitHandler>();
        services.AddSingleton<IKafkaHandler, OffsetDeleteHandler>();
        services.AddSingleton<IKafkaHandler, OffsetFetchHandler>();
        services.AddSingleton<IKafkaHandler, OffsetForLeaderEpochHandler>();
        services.AddSingleton<IKafkaHandler, ProduceHandler>();
        services.AddSingleton<IKafkaHandler, SaslAuthenticateHandler>();
        services.AddSingleton<IKafkaHandler, SaslHandshakeHandler>();
        services.AddSingleton<IKafkaHandler, DescribeUserScramCredentialsHandler>();
        services.AddSingleton<IKafkaHandler, AlterUserScramCredentialsHandler>();
        services.AddSingleton<IKafkaHandler, SyncGroupHandler>();
        services.AddSingleton<KafkaHandlerRegistry>();
        services.TryAddSingleton<ConnectionRegistry>();
        services.AddSingleton<ProduceThrottle>();
        services.AddSingleton<KafkaConnectionHandler>();
        return services;
    }
}
