using Ferry.Broker.Transactions;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>
/// ListTransactions (KIP-664): the transactional ids this node coordinates, filtered by state and producer id, and
/// (v1, KIP-994) by how long they have been running; state names Kafka does not know come back as unknown filters.
/// </summary>
public sealed class ListTransactionsHandler(TransactionCoordinator transactions, TimeProvider time) : KafkaHandler<ListTransactionsRequest>
{
    private static readonly HashSet<string> KnownStates =
        ["Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit", "CompleteAbort", "Dead", "PrepareEpochFence"];

    public override short ApiKey => ApiKeys.ListTransactions;
    public override short MinVersion => 0;
    public override short MaxVersion => 1;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, ListTransactionsRequest request)
    {
        var response = new ListTransactionsResponse();
        response.UnknownStateFilters.AddRange(request.StateFilters.Where(s => !KnownStates.Contains(s)));
        var states = request.StateFilters.ToHashSet(StringComparer.Ordinal);
        var producers = request.ProducerIdFilters.ToHashSet();
        long now = time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var state in transactions.List().OrderBy(s => s.TransactionalId, StringComparer.Ordinal))
        {
            string name = TransactionStates.Name(state.State);
            if (states.Count > 0 && !states.Contains(name)) continue;
            if (producers.Count > 0 && !producers.Contains(state.ProducerId)) continue;
            if (request.DurationFilter >= 0 && (state.State != TransactionState.Ongoing || now - state.StartTimestampMs < request.DurationFilter)) continue;
            response.TransactionStates.Add(new ListTransactionsResponse.TransactionStateData
            {
                TransactionalId = state.TransactionalId,
                ProducerId = state.ProducerId,
                TransactionState = name,
            });
        }
        return new(response);
    }
}
