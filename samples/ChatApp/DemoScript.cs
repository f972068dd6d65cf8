namespace ChatApp;

/// <summary>
/// A scripted chat for <c>--demo N</c>: someone planning a trip to Lisbon, who mentions a detail at turn 3 and asks
/// about it on the last turn, long after it left the recent window.
/// </summary>
public static class DemoScript
{
    private const string Fact = "Please remember that my hotel booking reference is LIS-4711 and the check-in is after 15:00.";
    private const string Question = "What was my hotel booking reference and when is the check-in?";

    private static readonly string[] Subjects =
    [
        "the tram 28 route through Alfama", "a day trip to Sintra and the Pena Palace", "pastéis de nata in Belém",
        "fado houses in Mouraria", "the LX Factory on a Sunday", "the ferry across the Tagus to Cacilhas",
        "the Gulbenkian museum and its garden", "sunset at the Miradouro da Senhora do Monte", "a surf lesson in Carcavelos",
        "the Time Out Market for lunch", "the Oceanário in Parque das Nações", "a walk along the river to the MAAT",
    ];

    private static readonly string[] Thoughts =
    [
        "I read that it gets crowded around noon, so maybe we should go early in the morning.",
        "My partner is not keen on long queues, so we may buy tickets online the day before.",
        "The weather forecast says some rain midweek, which could change the order of the days.",
        "A friend told me it is the highlight of the city, but others say it is overrated.",
        "We would like to keep the budget for this under forty euros for the two of us.",
        "I am wondering whether it fits in an afternoon or needs a whole day.",
    ];

    public static IEnumerable<string> Lines(int turns)
    {
        for (var turn = 1; turn <= turns; turn++)
        {
            yield return turn switch
            {
                3 => Fact,
                _ when turn == turns => Question,
                _ => $"Next idea for the trip: {Subjects[turn % Subjects.Length]}. {Thoughts[turn % Thoughts.Length]} Let me know what you think.",
            };
        }
    }
}
