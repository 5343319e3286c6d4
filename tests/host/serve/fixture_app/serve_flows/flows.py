"""A tiny orchestrator and activity for the HTTP starter to run."""
import azure.durable_functions as df

bp = df.Blueprint()


@bp.orchestration_trigger(context_name="context")
def greet(context: df.DurableOrchestrationContext):
    name = context.get_input()["name"]
    return (yield context.call_activity("hello", name))


@bp.activity_trigger(input_name="name")
def hello(name: str) -> str:
    return f"hello {name}"
