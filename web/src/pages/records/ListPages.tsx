import { useQuery } from '@tanstack/react-query';
import { useNavigate, useSearch } from '@tanstack/react-router';
import { objectQuery } from '../../lib/query';
import { COLLECTION, type ListObject } from '../../lib/records';
import { EmptyState } from '../../shell/states';
import { RecordForm } from './RecordForm';
import { RecordList } from './RecordList';

/** The table page of an object, its saved view from the URL, its create form from the registry. */
function ObjectListPage({ object }: { object: ListObject }) {
  const search = useSearch({ strict: false });
  const navigate = useNavigate();
  const description = useQuery(objectQuery(object)).data;
  const singular = description?.label_singular.toLowerCase() ?? '';
  const plural = description?.label_plural.toLowerCase() ?? '';
  return (
    <RecordList
      object={object}
      viewId={search.view}
      startCreating={search.new === true}
      onViewChange={(view) => void navigate({ to: `/${COLLECTION[object]}`, search: view ? { view } : {} })}
      renderCreate={(close) => <RecordForm object={object} onDone={close} />}
      empty={
        <EmptyState title={`No ${plural} yet`}>
          Add your first {singular} with “New {singular}”, or import a spreadsheet of them.
        </EmptyState>
      }
    />
  );
}

export const ContactsPage = () => <ObjectListPage object="contact" />;
export const CompaniesPage = () => <ObjectListPage object="company" />;
export const ProductsPage = () => <ObjectListPage object="product" />;
