import { api } from '../api.js';
import { CopyBlock, ErrorBox, Fact, Loading, useLoad } from '../components.js';
import { formatTime, hashHref, html } from '../html.js';

function Step({ step, index }) {
  return html`<section class="panel step" aria-labelledby=${`step-${index}`}>
    <h2 id=${`step-${index}`}>${index + 1}. ${step.title}</h2>
    <p class="why">${step.why}</p>
    ${step.blocked ? html`<p class="warning" role="note"><strong>Blocked:</strong> ${step.blocked}</p>` : null}
    ${
      (step.commands ?? []).length > 0
        ? html`<${CopyBlock} text=${step.commands.join('\n')} label="Copy commands" />`
        : null
    }
    ${
      step.policyDocument
        ? html`<h3>Policy document</h3>
            <${CopyBlock} text=${step.policyDocument} label="Copy policy" />`
        : null
    }
    ${
      (step.notes ?? []).length > 0
        ? html`<h3>Trade-offs</h3>
            <ul>
              ${step.notes.map((n, i) => html`<li key=${i}>${n}</li>`)}
            </ul>`
        : null
    }
    ${
      step.alternative
        ? html`<details class="alternative">
            <summary>Alternative: ${step.alternative.title}</summary>
            <p class="why">${step.alternative.why}</p>
            ${
              (step.alternative.commands ?? []).length > 0
                ? html`<${CopyBlock} text=${step.alternative.commands.join('\n')} label="Copy commands" />`
                : null
            }
            ${
              step.alternative.policyDocument
                ? html`<${CopyBlock} text=${step.alternative.policyDocument} label="Copy policy" />`
                : null
            }
            ${
              (step.alternative.notes ?? []).length > 0
                ? html`<ul>
                    ${step.alternative.notes.map((n, i) => html`<li key=${i}>${n}</li>`)}
                  </ul>`
                : null
            }
          </details>`
        : null
    }
    ${
      (step.followUp ?? []).length > 0
        ? html`<h3>Then</h3>
            <${CopyBlock} text=${step.followUp.join('\n')} label="Copy" />`
        : null
    }
  </section>`;
}

/** The containment plan of a finding, as commands to copy: applying it stays a CLI action. */
export function PlanPage({ id }) {
  const loaded = useLoad((signal) => api.plan(id, signal), [id]);
  const back = html`<p class="crumbs"><a href=${hashHref('finding', id)}>← Finding</a></p>`;
  if (loaded.data === undefined) {
    return html`<section>
      ${back}
      ${
        loaded.error
          ? html`<h1 tabindex="-1">Containment plan</h1>
              <${ErrorBox} error=${loaded.error} />`
          : html`<${Loading} what="Building the containment plan" />`
      }
    </section>`;
  }
  const { plan, text, applyCommand } = loaded.data;
  const t = plan?.target ?? {};
  return html`<article class="plan">
    ${back}
    <h1 tabindex="-1">Containment plan</h1>
    <p class="lede">
      Revoke first, then close the path, or the attacker steals fresh credentials. These are the exact commands to run.
      The dashboard never changes AWS: to have offbox apply the plan and record it, run this from a shell with
      credentials for the account:
    </p>
    <${CopyBlock} text=${applyCommand || `offbox contain --role ${t.roleName || 'ROLE'} --apply`} label="Copy" />
    <section class="panel" aria-labelledby="target-h">
      <h2 id="target-h">Target</h2>
      <dl class="facts">
        <${Fact} term="Account" value=${t.accountId} />
        <${Fact} term="Role" value=${t.roleName} />
        <${Fact} term="Role ARN" value=${t.roleArn} />
        <${Fact} term="Instance" value=${t.instanceId} />
        <${Fact} term="Region" value=${t.region} />
        <${Fact}
          term="Revoke sessions issued before"
          value=${t.cutoffIsNow ? 'now (when the command runs)' : formatTime(t.issuedBefore)}
        />
        <${Fact} term="Scope" value=${t.scope} />
      </dl>
    </section>
    ${
      plan?.identity
        ? html`<section class="panel warning" aria-labelledby="identity-h">
            <h2 id="identity-h">Cannot be revoked: ${plan.identity.sessionArn}</h2>
            <p>${plan.identity.cannotRevoke}</p>
            <p>${plan.identity.lifetime}</p>
            <ul>
              ${plan.identity.usableWith.map((u, i) => html`<li key=${i}>${u}</li>`)}
            </ul>
          </section>`
        : null
    }
    ${
      (plan?.warnings ?? []).length > 0
        ? html`<section class="panel warning" aria-labelledby="warn-h">
            <h2 id="warn-h">Warnings</h2>
            <ul>
              ${plan.warnings.map((w, i) => html`<li key=${i}>${w}</li>`)}
            </ul>
          </section>`
        : null
    }
    ${(plan?.steps ?? []).map((step, i) => html`<${Step} key=${step.id ?? i} step=${step} index=${i} />`)}
    ${
      plan?.rollback
        ? html`<section class="panel" aria-labelledby="rollback-h">
            <h2 id="rollback-h">Rollback</h2>
            ${
              (plan.rollback.commands ?? []).length > 0
                ? html`<${CopyBlock} text=${plan.rollback.commands.join('\n')} label="Copy commands" />`
                : null
            }
            <ul>
              ${(plan.rollback.notes ?? []).map((n, i) => html`<li key=${i}>${n}</li>`)}
            </ul>
          </section>`
        : null
    }
    ${
      text
        ? html`<details class="panel">
            <summary>The whole plan as text</summary>
            <${CopyBlock} text=${text} label="Copy the plan" />
          </details>`
        : null
    }
  </article>`;
}
