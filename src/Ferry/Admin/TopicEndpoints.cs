using Ferry.Broker.Cluster;
using Ferry.Broker.Topics;
using Ferry.Metrics;

namespace Ferry.Admin;

/// <summary>
/// <c>/api/topics</c>: list, describe, create, delete and alter topics. Every change goes through the
/// <see cref="IMetadataController"/>, exactly as the Kafka admin APIs do; leaders, replicas and ISR come from the
/// cluster view.
/// </summary>
internal static class TopicEndpoints
{
    public static IEndpointRouteBuilder MapTopicEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/topics");
        group.MapGet("/", (TopicRegistry topics) =>
            AdminResults.Json(topics.Topics.Where(t => !InternalTopics.IsInternal(t.Name)).OrderBy(t => t.Name, StringComparer.Ordinal).Select(Summarize).ToList(),
                FerryJsonContext.Api.ListTopicSummary));

        group.MapGet("/{name}", (string name, TopicRegistry topics, IClusterView cluster, RateSampler rates) =>
            topics.TryGet(name, out var topic) ? AdminResults.Json(Describe(topic, cluster, rates), FerryJsonContext.Api.TopicDetail) : UnknownTopic(name));

        group.MapPost("/", async Task<IResult> (HttpRequest request, TopicRegistry topics, IMetadataController controller, IClusterView cluster, RateSampler rates) =>
        {
            var (body, error) = await AdminResults.ReadBodyAsync(request, FerryJsonContext.Api.CreateTopicRequest).ConfigureAwait(false);
            if (error is not null) return error;
            var result = await controller.CreateTopicAsync(new TopicSpec(body!.Name ?? "", body.Partitions, body.ReplicationFactor ?? -1,
                Configs: body.Configs)).ConfigureAwait(false);
            if (!result.Succeeded) return FromTopicError(result);
            if (!topics.TryGet(body.Name!, out var topic)) return UnknownTopic(body.Name!);
            return AdminResults.Json(Describe(topic, cluster, rates), FerryJsonContext.Api.TopicDetail, StatusCodes.Status201Created);
        });

        group.MapDelete("/{name}", async Task<IResult> (string name, IMetadataController controller) =>
        {
            var result = await controller.DeleteTopicAsync(name).ConfigureAwait(false);
            return result.Succeeded ? Results.NoContent() : FromTopicError(result);
        });

        group.MapPatch("/{name}", async Task<IResult> (string name, HttpRequest request, TopicRegistry topics, IMetadataController controller, IClusterView cluster,
            RateSampler rates) =>
        {
            var (body, error) = await AdminResults.ReadBodyAsync(request, FerryJsonContext.Api.AlterTopicRequest).ConfigureAwait(false);
            if (error is not null) return error;
            if (!topics.TryGet(name, out var topic)) return UnknownTopic(name);
            var changes = new List<(string, string?)>();
            foreach (var (config, value) in body!.Set ?? []) changes.Add((config, value));
            foreach (var config in body.Delete ?? []) changes.Add((config, null));
            // Validate both changes before applying either, so that a bad request changes nothing.
            if (changes.Count > 0 && await controller.AlterConfigsAsync(name, changes, replaceAll: false, validateOnly: true).ConfigureAwait(false) is { Succeeded: false } invalid)
                return FromTopicError(invalid);
            if (body.Partitions is { } count && await controller.CreatePartitionsAsync(name, count, validateOnly: true).ConfigureAwait(false) is { Succeeded: false } badCount)
                return FromTopicError(badCount);
            if (changes.Count > 0 && await controller.AlterConfigsAsync(name, changes, replaceAll: false, validateOnly: false).ConfigureAwait(false) is { Succeeded: false } failed)
                return FromTopicError(failed);
            if (body.Partitions is { } total && await controller.CreatePartitionsAsync(name, total, validateOnly: false).ConfigureAwait(false) is { Succeeded: false } notGrown)
                return FromTopicError(notGrown);
            return AdminResults.Json(Describe(topic, cluster, rates), FerryJsonContext.Api.TopicDetail);
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
            size += p.SizeInBytes;
        }
        return new TopicSummary(topic.Name, topic.Id, topic.Partitions.Count, messages, size);
    }

    private static TopicDetail Describe(Topic topic, IClusterView cluster, RateSampler rates)
    {
        var partitions = topic.Partitions.Select(p =>
        {
            var state = cluster.GetPartition(topic.Name, p.Index);
            return new PartitionInfo(p.Index, state?.Leader ?? -1, state?.LeaderEpoch ?? -1, p.LogStartOffset, p.HighWatermark,
                p.HighWatermark - p.LogStartOffset, p.SizeInBytes, p.SegmentCount, state?.Replicas ?? [], state?.Isr ?? []);
        }).ToList();
        var options = topic.Options;
        var overrides = topic.Overrides;
        var configs = TopicConfig.Known
            .Select(name => new ConfigEntry(name, TopicConfig.Value(options, overrides, name), overrides.ContainsKey(name) ? "topic" : "default"))
            .ToList();
        return new TopicDetail(topic.Name, topic.Id, partitions, configs, rates.Topic(topic.Name));
    }
}
