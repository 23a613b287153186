import { useQuery } from '@tanstack/react-query';
import { lazy, Suspense } from 'react';
import { api, call, type Schemas } from '../../api/client';

// The AI assistant's entry points (issue 32): a small status query, and the tools themselves in a
// chunk of their own, fetched only when the organization has the assistant on.

const aiStatusQuery = {
  queryKey: ['ai-status'],
  queryFn: () => call(api.GET('/api/v1/ai/status')),
  staleTime: 5 * 60_000,
} as const;

const Tools = {
  RecordAssistant: lazy(() => import('./AiTools').then((m) => ({ default: m.RecordAssistant }))),
  AskBox: lazy(() => import('./AiTools').then((m) => ({ default: m.AskBox }))),
};

function useFeatures(): string[] {
  const { data } = useQuery(aiStatusQuery);
  return data?.enabled ? data.features : [];
}

/** "Summarize" and "Draft e-mail" on a record page, when the assistant offers either. */
export function RecordAssistantSlot({ object, id }: { object: string; id: string }) {
  const features = useFeatures();
  if (!features.includes('summarize') && !features.includes('draft_email')) return null;
  return (
    <Suspense fallback={null}>
      <Tools.RecordAssistant object={object} id={id} features={features} />
    </Suspense>
  );
}

const ReplyDraft = lazy(() => import('./AiReplyDraft').then((m) => ({ default: m.ReplyDraft })));

/** "Draft with the assistant" above a conversation's reply box; `onText` gets the draft as it streams. */
export function ReplyDraftSlot({
  conversationId,
  onText,
}: {
  conversationId: string;
  onText: (text: string) => void;
}) {
  const features = useFeatures();
  if (!features.includes('draft_email')) return null;
  return (
    <Suspense fallback={null}>
      <ReplyDraft conversationId={conversationId} onText={onText} />
    </Suspense>
  );
}

/** The "Ask" box of a list page, when the assistant offers it; `onApply` gets the chips as a filter. */
export function AskSlot({ object, onApply }: { object: string; onApply: (filter: unknown) => void }) {
  const features = useFeatures();
  if (!features.includes('ask')) return null;
  return (
    <Suspense fallback={null}>
      <Tools.AskBox object={object} onApply={onApply} />
    </Suspense>
  );
}

const ReportTools = {
  AskReportBox: lazy(() => import('./AiReportTools').then((m) => ({ default: m.AskReportBox }))),
  ExplainBox: lazy(() => import('./AiReportTools').then((m) => ({ default: m.ExplainBox }))),
};

type ReportSpec = Schemas['ReportSpec'];

/** "Ask for a report" on the Reports page, when the assistant offers asking. */
export function AskReportSlot({ onUse }: { onUse: (spec: ReportSpec, title: string) => void }) {
  const features = useFeatures();
  if (!features.includes('ask')) return null;
  return (
    <Suspense fallback={null}>
      <ReportTools.AskReportBox onUse={onUse} />
    </Suspense>
  );
}

/** "Explain these numbers" for a report or a dashboard, when the assistant offers explaining. */
export function ExplainSlot({ reports }: { reports: { title: string; spec: ReportSpec }[] }) {
  const features = useFeatures();
  if (!features.includes('explain')) return null;
  return (
    <Suspense fallback={null}>
      <ReportTools.ExplainBox reports={reports} />
    </Suspense>
  );
}
