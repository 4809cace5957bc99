using Ferry.Broker.Topics;
using Ferry.Kafka;
using Ferry.Metrics;
using Microsoft.Extensions.Options;

namespace Ferry.Admin;

/// <summary>
/// <c>/api/topics</c>: list, describe, create, delete and alter topics. Every change goes through
/// <see cref="TopicRegistry"/>, the one place topic metadata changes, exactly as the Kafka admin APIs do.
/// </summary>
internal static class TopicEndpoints
{
    public static IEndpointRouteBuilder MapTopicEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/topics");
        group.MapGet("/", (TopicRegistry topics) =>
            AdminResults.Json(topics.Topics.OrderBy(t => t.Name, StringComparer.Ordinal).Select(Summarize).ToList(),
                FerryJsonContext.Api.ListTopicSummary));

        group.MapGet("/{name}", (string name, TopicRegistry topics, RateSampler rates, IOptions<KafkaOptions> kafka) =>
            topics.TryGet(name, out var topic) ? AdminResults.Json(Describe(topic, rates, kafka.Value), FerryJsonContext.Api.TopicDetail) : UnknownTopic(name));

        group.MapPost("/", async Task<IResult> (HttpRequest request, TopicRegistry topics, RateSampler rates, IOptions<KafkaOptions> kafka) =>
        {
            var (body, error) = await AdminResults.ReadBodyAsync(request, FerryJsonContext.Api.CreateTopicRequest).ConfigureAwait(false);
            if (error is not null) return error;
            var result = topics.Create(body!.Name ?? "", body.Partitions, body.Configs);
            if (!result.Succeeded) return FromTopicError(result);
            topics.TryGet(body.Name!, out var topic);
            return AdminResults.Json(Describe(topic, rates, kafka.Value), FerryJsonContext.Api.TopicDetail, StatusCodes.Status201Created);
        });

        group.MapDelete("/{name}", async Task<IResult> (string name, TopicRegistry topics) =>
        {
            var result = await topics.DeleteAsync(name).ConfigureAwait(false);
            return result.Succeeded ? Results.NoContent() : FromTopicError(result);
        });

        group.MapPatch("/{name}", async Task<IResult> (string name, HttpRequest request, TopicRegistry topics, RateSampler rates, IOptions<KafkaOptions> kafka) =>
        {
            var (body, error) = await AdminResults.ReadBodyAsync(request, FerryJsonContext.Api.AlterTopicRequest).ConfigureAwait(false);
            if (error is not null) return error;
            if (!topics.TryGet(name, out var topic)) return UnknownTopic(name);
            var changes = new List<(string, string?)>();
            foreach (var (config, value) in body!.Set ?? []) changes.Add((config, value));
            foreach (var config in body.Delete ?? []) changes.Add((config, null));
            // Validate both changes before applying either, so that a bad request changes nothing.
            if (changes.Count > 0 && topics.AlterConfigs(name, changes, replaceAll: false, validateOnly: true) is { Succeeded: false } invalid)
                return FromTopicError(invalid);
            if (body.Partitions is { } count && topics.CreatePartitions(name, count, validateOnly: true) is { Succeeded: false } badCount)
                return FromTopicError(badCount);
            if (changes.Count > 0 && topics.AlterConfigs(name, changes, replaceAll: false, validateOnly: false) is { Succeeded: false } failed)
                return FromTopicError(failed);
            if (body.Partitions is { } total && topics.CreatePartitions(name, total, validateOnly: false) is { Succeeded: false } notGrown)
                return FromTopicError(notGrown);
            return AdminResults.Json(Describe(topic, rates, kafka.Value), FerryJsonContext.Api.TopicDetail);
        });
        return endpoints;
    }

    public static IResult UnknownTopic(string name) => AdminResults.NotFound($"Topic '{name}' does not exist.");

    public static IResult FromTopicError(TopicResult result) => result.Error switch
    {
        TopicError.UnknownTopic => AdminResults.NotFound(result.Message ?? "Unknown topic."),
        TopicError.TopicAlreadyExists => AdminResults.Conflict(result.Message ?? "Topic already exists."),
        _ => AdminResults.BadRequest(result.Message ?? result.Error.ToString()),
    };

    private static TopicSummary Summarize(Topic topic)
    {
        long messages = 0, size = 0;
        foreach (var p in topic.Partitions)
        {
            messages += p.HighWatermark - p.LogStartOffset;
            size += p.Log.SizeInBytes;
        }
        return new TopicSummary(topic.Name, topic.Id, topic.Partitions.Count, messages, size);
    }

    /// <summary>The leader is this node, named by the node id Kafka Metadata gives (KafkaOptions.NodeId), so both agree.</summary>
    private static TopicDetail Describe(Topic topic, RateSampler rates, KafkaOptions kafka)
    {
        var partitions = topic.Partitions.Select(p => new PartitionInfo(p.Index, kafka.NodeId, p.LeaderEpoch, p.LogStartOffset, p.HighWatermark,
            p.HighWatermark - p.LogStartOffset, p.Log.SizeInBytes, p.Log.SegmentCount)).ToList();
        var options = topic.Options;
        var overrides = topic.Overrides;
        var configs = TopicConfig.Known
            .Select(name => new ConfigEntry(name, TopicConfig.Value(options, name), overrides.ContainsKey(name) ? "topic" : "default"))
            .ToList();
        return new TopicDetail(topic.Name, topic.Id, partitions, configs, rates.Topic(topic.Name));
    }
}
