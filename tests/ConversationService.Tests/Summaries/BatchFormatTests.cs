using System.Text.Json.Nodes;
using ConversationService.Contracts;
using ConversationService.Summaries;
using ConversationService.Tokenizers;

namespace ConversationService.Tests.Summaries;

public sealed class BatchFormatTests
{
    [Fact]
    public void Given_a_summary_When_written_as_a_request_line_Then_it_is_a_chat_completion_at_temperature_0_with_the_output_cap()
    {
        var line = JsonNode.Parse(BatchFormat.RequestLine(7, "gpt-4.1-nano", "system text", "user text", 200))!;

        Assert.Equal("7", line["custom_id"]!.GetValue<string>());
        Assert.Equal(("POST", "/v1/chat/completions"), (line["method"]!.GetValue<string>(), line["url"]!.GetValue<string>()));
        var body = line["body"]!;
        Assert.Equal("gpt-4.1-nano", body["model"]!.GetValue<string>());
        Assert.Equal(0, body["temperature"]!.GetValue<int>());
        Assert.Equal(200, body["max_completion_tokens"]!.GetValue<int>());
        Assert.Equal(["system:system text", "user:user text"],
            body["messages"]!.AsArray().Select(m => $"{m!["role"]}:{m["content"]}"));
    }

    [Fact]
    public void Given_output_and_error_files_When_read_Then_each_line_is_keyed_by_its_custom_id_with_usage_or_reason()
    {
        const string output = """
            {"id":"r1","custom_id":"0","response":{"status_code":200,"body":{"model":"gpt-4.1-nano-2025-04-14","choices":[{"message":{"content":" Alice booked room 104. "},"finish_reason":"stop"}],"usage":{"prompt_tokens":900,"completion_tokens":40,"prompt_tokens_details":{"cached_tokens":100}}}},"error":null}
            {"id":"r2","custom_id":"1","response":{"status_code":200,"body":{"choices":[{"message":{"content":"cut"},"finish_reason":"length"}],"usage":{"prompt_tokens":10,"completion_tokens":200}}},"error":null}

            """;
        const string errors = """
            {"id":"r3","custom_id":"2","response":{"status_code":500,"body":{"error":{"message":"server error"}}},"error":null}
            {"id":"r4","custom_id":"3","response":null,"error":{"code":"batch_expired","message":"not executed"}}
            """;

        var results = BatchFormat.Results(output, errors);

        var answered = Assert.IsType<LineResult.Answered>(results[0]);
        Assert.Equal(("Alice booked room 104.", new LlmUsage(900, 100, 40), "stop", false),
            (answered.Text, answered.Usage, answered.FinishReason, answered.Refused));
        Assert.Equal(BatchAnswer.Store, SummaryDecisions.OnBatchAnswer(answered));
        Assert.Equal(BatchAnswer.Direct, SummaryDecisions.OnBatchAnswer(results[1]));
        Assert.Contains("server error", Assert.IsType<LineResult.Failed>(results[2]).Reason, StringComparison.Ordinal);
        Assert.Contains("batch_expired", Assert.IsType<LineResult.Failed>(results[3]).Reason, StringComparison.Ordinal);
        Assert.Equal(BatchAnswer.Retry, SummaryDecisions.OnBatchAnswer(results[3]));
        Assert.False(results.ContainsKey(4));
    }

    [Fact]
    public void Given_an_empty_or_refused_answer_When_deciding_Then_it_is_retried_not_stored()
    {
        var usage = new LlmUsage(10, 0, 1);

        Assert.Equal(BatchAnswer.Retry, SummaryDecisions.OnBatchAnswer(new LineResult.Answered("", "m", usage, "stop", false)));
        Assert.Equal(BatchAnswer.Retry, SummaryDecisions.OnBatchAnswer(new LineResult.Answered("no", "m", usage, "stop", true)));
    }

    [Fact]
    public void Given_an_answer_without_usage_and_unreadable_lines_When_read_Then_usage_is_counted_from_the_request_and_the_rest_fails()
    {
        var tokenizer = ExactTiktokenTokenizer.CreateForModel("gpt-4.1-nano");
        var input = string.Join('\n',
            BatchFormat.RequestLine(0, "gpt-4.1-nano", "Summarize the conversation.", "Alice: the review moved to room 104.", 200),
            BatchFormat.RequestLine(1, "gpt-4.1-nano", "Summarize.", "Bob: hello.", 200));
        const string output = """
            {"id":"r1","custom_id":"0","response":{"status_code":200,"body":{"choices":[{"message":{"content":"The review is in room 104."},"finish_reason":"stop"}]}},"error":null}
            {"id":"r2","custom_id":"1","response":{"status_code":"two hundred","body":{}},"error":null}
            {"id":"r3","custom_id":"2", not json
            """;

        var results = BatchFormat.Results(output, "");
        Assert.False(Assert.IsType<LineResult.Answered>(results[0]).UsageReported);
        results = BatchFormat.CountMissingUsage(results, input, _ => tokenizer);

        var answered = Assert.IsType<LineResult.Answered>(results[0]);
        var prompt = tokenizer.CountChatTokens([
            new ChatMessage("system", "Summarize the conversation."), new ChatMessage("user", "Alice: the review moved to room 104.")]);
        Assert.Equal(new LlmUsage(prompt, 0, tokenizer.CountTokens("The review is in room 104.")), answered.Usage);
        Assert.True(answered.Usage.InputTokens > 20);
        Assert.Contains("unreadable", Assert.IsType<LineResult.Failed>(results[1]).Reason, StringComparison.Ordinal);
        Assert.Equal(2, results.Count);
    }

    [Fact]
    public void Given_job_objects_When_read_Then_status_files_and_the_recorded_submission_are_found()
    {
        var submission = Guid.NewGuid();
        var status = BatchFormat.Status(BinaryData.FromString(
            """{"id":"batch_1","status":"expired","output_file_id":"file-2","error_file_id":null}"""));
        var list = BinaryData.FromString($$$"""
            {"object":"list","data":[
              {"id":"batch_9","metadata":{"conversation_service_submission":"{{{Guid.NewGuid()}}}"}},
              {"id":"batch_7","metadata":null},
              {"id":"batch_8","metadata":{"conversation_service_submission":"{{{submission}}}"}}]}
            """);

        Assert.Equal(("expired", "file-2", (string?)null, true), (status.Status, status.OutputFileId, status.ErrorFileId, status.Done));
        Assert.False(BatchFormat.Status(BinaryData.FromString("""{"status":"in_progress"}""")).Done);
        Assert.Equal("batch_8", BatchFormat.FindSubmission(list, submission));
        Assert.Null(BatchFormat.FindSubmission(list, Guid.NewGuid()));
    }

    [Theory]
    [InlineData(true, 1_000, 1_000, true)]
    [InlineData(true, 1_000, 999, false)]
    [InlineData(false, 1_000, 1_000, false)]
    public void Given_a_page_of_jobs_When_searching_back_to_a_time_Then_the_next_page_is_read_only_while_all_are_that_recent(
        bool hasMore, long since, long oldest, bool further)
    {
        var page = BinaryData.FromString($$"""
            {"object":"list","has_more":{{(hasMore ? "true" : "false")}},"data":[
              {"id":"batch_2","created_at":{{since + 60}}},{"id":"batch_1","created_at":{{oldest}}}]}
            """);

        Assert.Equal(further, BatchFormat.ReachesBack(page, DateTimeOffset.FromUnixTimeSeconds(since)));
    }

    [Theory]
    [InlineData(SummaryMode.Direct, true, false, 100, false)]
    [InlineData(SummaryMode.Batch, true, false, 100, true)]
    [InlineData(SummaryMode.Batch, false, false, 100, false)]
    [InlineData(SummaryMode.Batch, true, true, 100, false)]
    [InlineData(SummaryMode.Batch, true, false, 4_001, false)]
    public void Given_the_mode_and_backlog_When_a_summary_is_due_Then_it_waits_for_a_job_only_in_batch_mode_with_a_small_backlog(
        SummaryMode mode, bool llmEnabled, bool direct, int backlogTokens, bool batch)
    {
        var options = new SummariesOptions { Mode = mode, Batch = { MaxBacklogTokens = 4_000 } };

        Assert.Equal(batch, SummaryDecisions.Batch(options, llmEnabled, direct, backlogTokens));
    }
}
